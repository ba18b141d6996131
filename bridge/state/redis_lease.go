package state

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Each lease is two keys sharing a hash tag, so a Cluster keeps them in one
// slot and one script may touch both:
//
//	ib:{<name>}:lease  "owner|token", expiring after the TTL (PX)
//	ib:{<name>}:fence  the last token handed out (INCR); never expires, so a
//	                   token is never reused even after the lease lapsed
//
// Every operation is a single Lua script: Redis runs it atomically, so
// check-then-set cannot interleave with another instance.

// leaseAcquireScript: KEYS lease, fence; ARGV owner, ttl ms.
// Returns {1, token} when owner holds the lease now, {0, 0} otherwise.
// The value is split on its last '|' so an owner may itself contain '|'.
var leaseAcquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local owner, tok = string.match(cur, '^(.*)|(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tonumber(tok)}
  end
  return {0, 0}
end
local tok = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. tok, 'PX', ARGV[2])
return {1, tok}
`)

// leaseRenewScript: KEYS lease; ARGV "owner|token", ttl ms. 1 if renewed.
var leaseRenewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// leaseReleaseScript: KEYS lease; ARGV "owner|token". 1 if released.
var leaseReleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// RedisLeases are Leases shared by every instance using one Redis.
type RedisLeases struct {
	client redis.UniversalClient
}

var _ Leases = (*RedisLeases)(nil)

// NewRedisLeases keeps leases in client's Redis.
func NewRedisLeases(client redis.UniversalClient) *RedisLeases {
	return &RedisLeases{client: client}
}

func leaseKey(name string) string   { return "ib:{" + name + "}:lease" }
func leaseFence(name string) string { return "ib:{" + name + "}:fence" }

func leaseValue(owner string, token uint64) string {
	return owner + "|" + strconv.FormatUint(token, 10)
}

// leaseTTLMillis converts ttl for PX, rounding a sub-millisecond TTL up
// rather than to 0, which Redis rejects.
func leaseTTLMillis(ttl time.Duration) int64 {
	return max(int64((ttl+time.Millisecond-1)/time.Millisecond), 1)
}

// leaseUnavailable marks a failed round trip as retryable unavailability.
func leaseUnavailable(op, name string, err error) error {
	return fmt.Errorf("state: lease %q: %s: %w: %w", name, op, ErrUnavailable, err)
}

// Acquire takes name for owner if free or lapsed, renews it if owner holds
// it already (same token), and reports false if someone else holds it.
func (l *RedisLeases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, uint64, error) {
	if err := checkLeaseArgs(name, owner, ttl); err != nil {
		return false, 0, err
	}
	res, err := leaseAcquireScript.Run(ctx, l.client,
		[]string{leaseKey(name), leaseFence(name)}, owner, leaseTTLMillis(ttl)).Int64Slice()
	if err != nil {
		return false, 0, leaseUnavailable("acquire", name, err)
	}
	if len(res) != 2 || res[1] < 0 {
		return false, 0, fmt.Errorf("state: lease %q: acquire: unexpected reply %v", name, res)
	}
	if res[0] != 1 {
		return false, 0, nil
	}
	return true, uint64(res[1]), nil
}

// Renew extends the lease if owner still holds it with token; otherwise
// ErrNotFound (lapsed, released or taken over).
func (l *RedisLeases) Renew(ctx context.Context, name, owner string, token uint64, ttl time.Duration) error {
	if err := checkLeaseArgs(name, owner, ttl); err != nil {
		return err
	}
	ok, err := leaseRenewScript.Run(ctx, l.client,
		[]string{leaseKey(name)}, leaseValue(owner, token), leaseTTLMillis(ttl)).Int64()
	if err != nil {
		return leaseUnavailable("renew", name, err)
	}
	if ok != 1 {
		return fmt.Errorf("lease %q is no longer held: %w", name, ErrNotFound)
	}
	return nil
}

// RenewMany renews the leases in one pipelined round trip (runScripts),
// each with the renew script, so each lease is still checked and extended
// atomically with its own token.
func (l *RedisLeases) RenewMany(ctx context.Context, owner string, ttl time.Duration, leases []LeaseRef) ([]error, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	if err := checkLeaseArgs("many", owner, ttl); err != nil {
		return nil, err
	}
	res := make([]error, len(leases))
	ms := leaseTTLMillis(ttl)
	send := make([]int, 0, len(leases)) // indexes still to send
	for i, lr := range leases {
		if lr.Name == "" {
			res[i] = checkLeaseArgs(lr.Name, owner, ttl)
			continue
		}
		send = append(send, i)
	}
	calls := make([]scriptCall, len(send))
	for j, i := range send {
		calls[j] = scriptCall{keys: []string{leaseKey(leases[i].Name)}, args: []any{leaseValue(owner, leases[i].Token), ms}}
	}
	cmds, err := runScripts(ctx, l.client, leaseRenewScript, calls)
	if err != nil {
		name := leases[send[0]].Name
		for j, c := range cmds {
			if c != nil && c.Err() != nil {
				name = leases[send[j]].Name
				break
			}
		}
		return nil, leaseUnavailable("renew", name, err)
	}
	for j, i := range send {
		if ok, _ := cmds[j].Int64(); ok != 1 {
			res[i] = fmt.Errorf("lease %q is no longer held: %w", leases[i].Name, ErrNotFound)
		}
	}
	return res, nil
}

// Release frees the lease if owner holds it with token; otherwise nothing.
func (l *RedisLeases) Release(ctx context.Context, name, owner string, token uint64) error {
	err := leaseReleaseScript.Run(ctx, l.client, []string{leaseKey(name)}, leaseValue(owner, token)).Err()
	if err != nil {
		return leaseUnavailable("release", name, err)
	}
	return nil
}
