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
// trip (runScripts), each with the set script, so each user's hash is
// still written and pruned atomically.
func (s *RedisStore) SetWatchedBatch(ctx context.Context, instance string, entries []WatchedEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := time.Now()
	calls := make([]scriptCall, len(entries))
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
		calls[i] = scriptCall{keys: []string{redisWatchKey(we.User)}, args: []any{keyPart(instance), value, now.UnixMilli(), ttl}}
	}
	if _, err := runScripts(ctx, s.rdb, watchSetScript, calls); err != nil {
		return redisErr(ctx, err)
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
