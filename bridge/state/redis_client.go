package state

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// OpenRedisClient builds a client from a URL. Accepted forms:
//
//	redis://[user:password@]host:port[/db][?options]   one server
//	rediss://...                                         one server over TLS
//	unix://[user:password@]/path/redis.sock[?db=N]       one server, Unix socket
//	redis+cluster://[user:password@]h1:6379,h2:6379      Redis Cluster seed nodes
//	redis+sentinel://[user:password@]h1:26379,h2:26379/<master>[/db]
//	                                                     Sentinel-managed primary
//
// The cluster and sentinel forms take a "rediss+" scheme for TLS. For the
// sentinel form the credentials are those of the data nodes; a password
// of the sentinels themselves goes in ?sentinel_password=. Options of
// the single-server forms are go-redis's (dial_timeout, pool_size, ...).
// Nothing connects until the first command.
func OpenRedisClient(rawURL string) (redis.UniversalClient, error) {
	t, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	if t.single != nil {
		return redis.NewClient(t.single), nil
	}
	return redis.NewUniversalClient(t.multi), nil
}

// redisTarget is a parsed Redis URL: options for one server, or for a
// cluster or a sentinel-managed primary.
type redisTarget struct {
	single *redis.Options
	multi  *redis.UniversalOptions
}

// Bounds on pool options a URL may set: a typo such as pool_size=1000000000
// must be an error, not a huge allocation at start-up.
const (
	maxRedisPool    = 10000
	maxRedisMinIdle = 1000
)

// parseRedisURL parses without connecting (and without creating a client,
// which may start dialing in the background), so it can be fuzzed safely.
func parseRedisURL(rawURL string) (redisTarget, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return redisTarget{}, fmt.Errorf("state: redis URL %q has no scheme", redactURL(rawURL))
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return redisTarget{}, fmt.Errorf("state: redis URL %q: %w", redactURL(rawURL), err)
		}
		if opts.PoolSize > maxRedisPool || opts.MaxIdleConns > maxRedisPool || opts.MaxActiveConns > maxRedisPool || opts.MinIdleConns > maxRedisMinIdle {
			return redisTarget{}, fmt.Errorf("state: redis URL %q: pool options out of range (pool_size, max_idle_conns, max_active_conns ≤ %d; min_idle_conns ≤ %d)",
				redactURL(rawURL), maxRedisPool, maxRedisMinIdle)
		}
		return redisTarget{single: opts}, nil
	case "redis+cluster", "rediss+cluster":
		opts, err := parseMultiHostURL(rest, false)
		if err != nil {
			return redisTarget{}, fmt.Errorf("state: redis URL %q: %w", redactURL(rawURL), err)
		}
		opts.IsClusterMode = true
		if strings.HasPrefix(scheme, "rediss") {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return redisTarget{multi: opts}, nil
	case "redis+sentinel", "rediss+sentinel":
		opts, err := parseMultiHostURL(rest, true)
		if err != nil {
			return redisTarget{}, fmt.Errorf("state: redis URL %q: %w", redactURL(rawURL), err)
		}
		if strings.HasPrefix(scheme, "rediss") {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return redisTarget{multi: opts}, nil
	}
	return redisTarget{}, fmt.Errorf("state: redis URL %q: unsupported scheme %q", redactURL(rawURL), scheme)
}

// parseMultiHostURL parses "[user:password@]h1:p1,h2:p2[/path][?query]".
// net/url cannot: it rejects a comma-separated host list.
func parseMultiHostURL(rest string, sentinel bool) (*redis.UniversalOptions, error) {
	rest, rawQuery, _ := strings.Cut(rest, "?")
	hostPart, path, _ := strings.Cut(rest, "/")
	opts := &redis.UniversalOptions{}
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		userInfo := hostPart[:at]
		hostPart = hostPart[at+1:]
		user, pass, hasPass := strings.Cut(userInfo, ":")
		var err error
		if opts.Username, err = url.PathUnescape(user); err != nil {
			return nil, fmt.Errorf("bad user name: %w", err)
		}
		if hasPass {
			if opts.Password, err = url.PathUnescape(pass); err != nil {
				return nil, fmt.Errorf("bad password: %w", err)
			}
		}
	}
	for _, h := range strings.Split(hostPart, ",") {
		if h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			if sentinel {
				h += ":26379"
			} else {
				h += ":6379"
			}
		}
		opts.Addrs = append(opts.Addrs, h)
	}
	if len(opts.Addrs) == 0 {
		return nil, fmt.Errorf("no host")
	}
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if sentinel {
		if len(segs) == 0 {
			return nil, fmt.Errorf("sentinel URL needs the master name as path: redis+sentinel://h1:26379,h2:26379/mymaster[/db]")
		}
		opts.MasterName = segs[0]
		segs = segs[1:]
	}
	switch {
	case len(segs) == 1 && sentinel:
		db, err := strconv.Atoi(segs[0])
		if err != nil || db < 0 {
			return nil, fmt.Errorf("bad database number %q", segs[0])
		}
		opts.DB = db
	case len(segs) > 0:
		return nil, fmt.Errorf("unexpected path %q (cluster has no database numbers)", path)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("bad query: %w", err)
	}
	for k, v := range q {
		switch {
		case k == "sentinel_password" && sentinel:
			opts.SentinelPassword = v[len(v)-1]
		default:
			return nil, fmt.Errorf("unknown option %q", k)
		}
	}
	return opts, nil
}

// redactURL hides a password before a URL goes into an error message.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(unparsable)"
	}
	hostPart, tail, hasTail := strings.Cut(rest, "/")
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		user, _, hasPass := strings.Cut(hostPart[:at], ":")
		if hasPass {
			hostPart = user + ":xxxxx" + hostPart[at:]
		}
	}
	if hasTail {
		hostPart += "/" + tail
	}
	if i := strings.Index(hostPart, "password="); i >= 0 {
		hostPart = hostPart[:i] + "password=xxxxx"
	}
	return scheme + "://" + hostPart
}
