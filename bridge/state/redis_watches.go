package state

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisWatchKey is the user's hash of watched-folder entries, field =
// instance, value = "<until unix ms>\n<watchEntry JSON>" (see
// redis_keys.go).
func redisWatchKey(user string) string { return userPrefix(user) + "watch" }

// watchSetScript: KEYS watch hash; ARGV instance, value ("" deletes), now
// ms, ttl ms. Writes the entry, prunes lapsed ones (the deadline is the
// value's first line, so no JSON decoding in Lua), and keeps the key for
// at least ttl so no live entry loses its hash (a key TTL only grows
// here; the last entry's removal drops the key with it).
var watchSetScript = redis.NewScript(`
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local now = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local u = tonumber(string.match(all[i+1], '^(%d+)'))
  if u == nil or u <= now then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
`)

// SetWatched implements Watches.
func (s *RedisStore) SetWatched(ctx context.Context, user, instance string, folders []string, until time.Time) error {
	return s.SetWatchedBatch(ctx, instance, []WatchedEntry{{User: user, Folders: folders, Until: until}})
}

// SetWatchedBatch implements Watches: the entries in one pipelined round
// trip, each with the set script (EVALSHA), so each user's hash is still
// written and pruned atomically. Each script touches only its user's key,
// so a Cluster client may split the pipeline per node. If Redis lost its
// script cache (a restart, SCRIPT FLUSH) the affected entries are sent
// again with EVAL, which also reloads it.
func (s *RedisStore) SetWatchedBatch(ctx context.Context, instance string, entries []WatchedEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := time.Now()
	type arg struct {
		keys []string
		args []any
	}
	all := make([]arg, len(entries))
	for i, we := range entries {
		value := ""
		if len(we.Folders) > 0 && we.Until.After(now) {
			raw, err := json.Marshal(watchEntry{Folders: we.Folders, Until: we.Until.UnixMilli()})
			if err != nil {
				return err
			}
			value = strconv.FormatInt(we.Until.UnixMilli(), 10) + "\n" + string(raw)
		}
		ttl := max(we.Until.Sub(now), time.Millisecond).Milliseconds() + 1
		all[i] = arg{keys: []string{redisWatchKey(we.User)}, args: []any{keyPart(instance), value, now.UnixMilli(), ttl}}
	}
	send := make([]int, len(entries))
	for i := range send {
		send[i] = i
	}
	for _, eval := range []bool{false, true} {
		if len(send) == 0 {
			break
		}
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(send))
		for j, i := range send {
			if eval {
				cmds[j] = watchSetScript.Eval(ctx, pipe, all[i].keys, all[i].args...)
			} else {
				cmds[j] = watchSetScript.EvalSha(ctx, pipe, all[i].keys, all[i].args...)
			}
		}
		// Exec's error is the first failed command's; each is read below.
		_, _ = pipe.Exec(ctx)
		var again []int
		for j, i := range send {
			err := cmds[j].Err()
			switch {
			case err == nil:
			case !eval && redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, i)
			default:
				return redisErr(ctx, err)
			}
		}
		send = again
	}
	return nil
}

// Watched implements Watches.
func (s *RedisStore) Watched(ctx context.Context, user string, now time.Time) ([]string, error) {
	out, err := s.WatchedMany(ctx, []string{user}, now)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// WatchedMany implements Watches: one pipelined HGETALL per user.
func (s *RedisStore) WatchedMany(ctx context.Context, users []string, now time.Time) ([][]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(users))
	for i, u := range users {
		cmds[i] = pipe.HGetAll(ctx, redisWatchKey(u))
	}
	_, _ = pipe.Exec(ctx)
	out := make([][]string, len(users))
	for i, c := range cmds {
		all, err := c.Result()
		if err != nil {
			return nil, redisErr(ctx, err)
		}
		entries := make([]watchEntry, 0, len(all))
		for _, v := range all {
			_, raw, ok := strings.Cut(v, "\n")
			var we watchEntry
			if ok && json.Unmarshal([]byte(raw), &we) == nil {
				entries = append(entries, we)
			}
		}
		out[i] = unionWatched(entries, now)
	}
	return out, nil
}
