package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// commitScript is Commit in one atomic step. It compares the stored
// generation (the text before the first newline of the header) with the
// expected one as strings, so no number ever goes through Lua doubles.
// The pending delta is only decoded (cjson) when it must be folded.
//
//	KEYS: 1 headers hash, 2 snapshot hash, 3 device record, 4 device set
//	ARGV: 1 collection ID, 2 expected generation, 3 "1" to fold pending,
//	      4 TTL in ms, 5 new header, 6 n = number of Apply.Set entries,
//	      7 .. 6+2n Apply.Set as id, version pairs, then Apply.Del ids.
//
// HSET/HDEL go in chunks: Lua's unpack has a stack limit of ~8000 values.
var commitScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local gen, body = '0', nil
if cur then
  local nl = string.find(cur, '\n', 1, true)
  if not nl then return redis.error_reply('corrupt collection header') end
  gen = string.sub(cur, 1, nl - 1)
  body = string.sub(cur, nl + 1)
end
if gen ~= ARGV[2] then return 0 end
local snap = KEYS[2]
local function hset(list, from, to)
  for i = from, to, 2000 do
    redis.call('HSET', snap, unpack(list, i, math.min(i + 1999, to)))
  end
end
local function hdel(list, from, to)
  for i = from, to, 1000 do
    redis.call('HDEL', snap, unpack(list, i, math.min(i + 999, to)))
  end
end
if ARGV[3] == '1' and body then
  local p = cjson.decode(body).pending
  if type(p) == 'table' then
    if type(p.set) == 'table' then
      local flat = {}
      for k, v in pairs(p.set) do
        flat[#flat + 1] = k
        flat[#flat + 1] = v
      end
      hset(flat, 1, #flat)
    end
    if type(p.del) == 'table' then hdel(p.del, 1, #p.del) end
  end
end
local n = tonumber(ARGV[6])
hset(ARGV, 7, 6 + 2 * n)
hdel(ARGV, 7 + 2 * n, #ARGV)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
local ttl = ARGV[4]
if ttl == '0' then
  -- user-scoped state (UserScope) never expires with a device
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
  return 1
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
if redis.call('PEXPIRE', KEYS[3], ttl) == 1 then
  redis.call('PEXPIRE', KEYS[4], ttl)
end
return 1
`)

// encodeHeader is the stored form: "<generation>\n<JSON>".
func encodeHeader(c *Collection) (string, error) {
	js, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("state: encode collection header: %w", err)
	}
	return strconv.FormatUint(c.Generation, 10) + "\n" + string(js), nil
}

func decodeRedisHeader(s string) (*Collection, error) {
	genText, js, ok := strings.Cut(s, "\n")
	if !ok {
		return nil, errors.New("state: corrupt collection header: no generation")
	}
	gen, err := strconv.ParseUint(genText, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("state: corrupt collection header: %w", err)
	}
	c, err := decodeHeader([]byte(js))
	if err != nil {
		return nil, err
	}
	c.Generation = gen
	return c, nil
}

// GetCollection implements Syncs.
func (s *RedisStore) GetCollection(ctx context.Context, user, deviceID, collectionID string) (*Collection, error) {
	raw, err := s.rdb.HGet(ctx, redisColsKey(user, deviceID), collectionID).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	return decodeRedisHeader(raw)
}

// ListCollections implements Syncs; headers come ordered by ID.
func (s *RedisStore) ListCollections(ctx context.Context, user, deviceID string) ([]*Collection, error) {
	all, err := s.rdb.HGetAll(ctx, redisColsKey(user, deviceID)).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	out := make([]*Collection, 0, len(all))
	for _, raw := range all {
		c, err := decodeRedisHeader(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Snapshot implements Syncs with one HGETALL: consistent, and for 100 000
// entries still a few megabytes in one reply.
func (s *RedisStore) Snapshot(ctx context.Context, user, deviceID, collectionID string) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, redisSnapKey(user, deviceID, collectionID)).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	return m, nil
}

// SnapshotGet implements Syncs with one HMGET.
func (s *RedisStore) SnapshotGet(ctx context.Context, user, deviceID, collectionID string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, redisSnapKey(user, deviceID, collectionID), ids...).Result()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[ids[i]] = str
		}
	}
	return out, nil
}

// Commit implements Syncs with commitScript. The new header is built here
// with generation expect+1: the script only stores it when the stored
// generation is expect, so that number is right whenever it lands.
func (s *RedisStore) Commit(ctx context.Context, user, deviceID, collectionID string, expectGeneration uint64, req CommitRequest) (*Collection, error) {
	if err := checkCommit(user, deviceID, req); err != nil {
		return nil, err
	}
	colsKey := redisColsKey(user, deviceID)
	var old *Collection
	if req.Meta == nil {
		// nil Meta keeps the stored one, which the script cannot merge
		// into the JSON; read it, and let the generation check prove the
		// read is still current.
		c, err := s.GetCollection(ctx, user, deviceID, collectionID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			if c.Generation != expectGeneration {
				return nil, ErrConflict
			}
			old = c
		}
	}
	h := nextHeader(old, collectionID, expectGeneration+1, req)
	h.Updated = time.Now()
	enc, err := encodeHeader(h)
	if err != nil {
		return nil, err
	}
	var sets, dels int
	if req.Apply != nil {
		sets, dels = len(req.Apply.Set), len(req.Apply.Del)
	}
	args := make([]any, 0, 6+2*sets+dels)
	fold := "0"
	if req.ApplyPending {
		fold = "1"
	}
	ttl := s.opts.DeviceTTL.Milliseconds()
	if deviceID == UserScope {
		ttl = 0
	}
	args = append(args, collectionID, strconv.FormatUint(expectGeneration, 10), fold, ttl, enc, sets)
	if req.Apply != nil {
		for k, v := range req.Apply.Set {
			args = append(args, k, v)
		}
		for _, k := range req.Apply.Del {
			args = append(args, k)
		}
	}
	keys := []string{colsKey, redisSnapKey(user, deviceID, collectionID), redisDeviceKey(user, deviceID), redisDevicesKey(user)}
	ok, err := commitScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return nil, redisErr(ctx, err)
	}
	if ok != 1 {
		return nil, ErrConflict
	}
	return h, nil
}

// ResetCollection implements Syncs.
func (s *RedisStore) ResetCollection(ctx context.Context, user, deviceID, collectionID string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, redisColsKey(user, deviceID), collectionID)
		p.Del(ctx, redisSnapKey(user, deviceID, collectionID))
		return nil
	})
	return redisErr(ctx, err)
}
