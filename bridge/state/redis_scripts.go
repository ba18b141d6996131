package state

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// scriptCall is one run of a Lua script in a pipelined batch.
type scriptCall struct {
	keys []string
	args []any
}

// runScripts runs script once per call in one pipelined round trip
// (EVALSHA), so each call stays atomic on its own keys; the calls may sit
// in different Cluster slots, and a ClusterClient splits the pipeline per
// node. Calls that fail with NOSCRIPT (Redis lost its script cache: a
// restart, SCRIPT FLUSH) are sent again with EVAL, which also reloads it.
// cmds[i] holds call i's outcome; err is the first other failure.
func runScripts(ctx context.Context, c redis.Cmdable, script *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	send := make([]int, len(calls))
	for i := range send {
		send[i] = i
	}
	for _, eval := range []bool{false, true} {
		if len(send) == 0 {
			break
		}
		pipe := c.Pipeline()
		for _, i := range send {
			if eval {
				cmds[i] = script.Eval(ctx, pipe, calls[i].keys, calls[i].args...)
			} else {
				cmds[i] = script.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
			}
		}
		// Exec's error is the first failed command's; each is read below.
		_, _ = pipe.Exec(ctx)
		var again []int
		for _, i := range send {
			err := cmds[i].Err()
			switch {
			case err == nil:
			case !eval && redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, i)
			default:
				return cmds, err
			}
		}
		send = again
	}
	return cmds, nil
}
