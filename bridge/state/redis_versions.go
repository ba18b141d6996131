package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisVersionsKey is the user's hash of upstream version records, field =
// mailbox or collection, value = the record (versions.go). The key's TTL
// is VersionTTL, refreshed on every write; each record also carries its
// own write time, so a field kept alive by its neighbours' writes still
// lapses on read.
func redisVersionsKey(user string) string { return userPrefix(user) + "upver" }

// versionPutScript: KEYS versions hash; ARGV field, record, now ms, ttl
// ms, modseq. Writes the record unless the field holds a stale mark still
// within ttl whose floor is at or above modseq. The numbers are compared
// as decimal strings (length, then bytes): a HIGHESTMODSEQ may exceed
// what a Lua number holds exactly.
var versionPutScript = redis.NewScript(`
local function le(a, b)
  if #a ~= #b then return #a < #b end
  return a <= b
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local floor, at = string.match(cur, '^s (%d+) (%d+)$')
  if floor and tonumber(ARGV[3]) - tonumber(at) <= tonumber(ARGV[4]) and le(ARGV[5], floor) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// versionStaleScript: KEYS versions hash; ARGV field, at ms, ttl ms.
// Replaces the record with a stale mark whose floor is the record's
// modseq (or its floor).
var versionStaleScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local floor = '0'
if cur then
  local f = string.match(cur, '^s (%d+) ')
  if not f then f = string.match(cur, '^k %d+ %d+ (%d+) ') end
  if f then floor = f end
end
redis.call('HSET', KEYS[1], ARGV[1], 's ' .. floor .. ' ' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// PutVersion implements Versions.
func (s *RedisStore) PutVersion(ctx context.Context, user, ref string, v UpstreamVersion) error {
	if ref == "" {
		return fmt.Errorf("state: version of an empty ref")
	}
	rec := storedVersion{v: v}.encode()
	err := versionPutScript.Run(ctx, s.rdb, []string{redisVersionsKey(user)},
		ref, rec, time.Now().UnixMilli(), VersionTTL.Milliseconds(), strconv.FormatUint(v.ModSeq, 10)).Err()
	return redisErr(ctx, err)
}

// StaleVersion implements Versions.
func (s *RedisStore) StaleVersion(ctx context.Context, user, ref string, at time.Time) error {
	if ref == "" {
		return fmt.Errorf("state: version of an empty ref")
	}
	err := versionStaleScript.Run(ctx, s.rdb, []string{redisVersionsKey(user)},
		ref, at.UnixMilli(), VersionTTL.Milliseconds()).Err()
	return redisErr(ctx, err)
}

// GetVersion implements Versions.
func (s *RedisStore) GetVersion(ctx context.Context, user, ref string, now time.Time) (UpstreamVersion, bool, error) {
	if ref == "" {
		return UpstreamVersion{}, false, nil
	}
	raw, err := s.rdb.HGet(ctx, redisVersionsKey(user), ref).Result()
	if errors.Is(err, redis.Nil) {
		return UpstreamVersion{}, false, nil
	}
	if err != nil {
		return UpstreamVersion{}, false, redisErr(ctx, err)
	}
	sv, err := decodeVersion(raw)
	if err != nil {
		return UpstreamVersion{}, false, nil // unknown: the caller asks upstream
	}
	v, ok := sv.readable(now)
	return v, ok, nil
}
