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
	now := time.Now()
	value := ""
	if len(folders) > 0 && until.After(now) {
		raw, err := json.Marshal(watchEntry{Folders: folders, Until: until.UnixMilli()})
		if err != nil {
			return err
		}
		value = strconv.FormatInt(until.UnixMilli(), 10) + "\n" + string(raw)
	}
	ttl := max(until.Sub(now), time.Millisecond).Milliseconds() + 1
	err := watchSetScript.Run(ctx, s.rdb, []string{redisWatchKey(user)},
		keyPart(instance), value, now.UnixMilli(), ttl).Err()
	return redisErr(ctx, err)
}

// SetWatchedBatch implements Watches. Redis has no per-write sync to
// save, so the entries are written one after another.
func (s *RedisStore) SetWatchedBatch(ctx context.Context, instance string, entries []WatchedEntry) error {
	for _, we := range entries {
		if err := s.SetWatched(ctx, we.User, instance, we.Folders, we.Until); err != nil {
			return err
		}
	}
	return nil
}

// Watched implements Watches.
func (s *RedisStore) Watched(ctx context.Context, user string, now time.Time) ([]string, error) {
	all, err := s.rdb.HGetAll(ctx, redisWatchKey(user)).Result()
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
	return unionWatched(entries, now), nil
}
