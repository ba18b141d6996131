package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// redisErr turns a go-redis error into the store's vocabulary: anything
// that means "Redis cannot serve now" wraps ErrUnavailable (retryable, 503
// at the HTTP front) and keeps the cause; the caller's own cancellation
// stays a context error.
func redisErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	if redisFull(err) {
		return fmt.Errorf("%w: %w: %w", ErrUnavailable, ErrNoSpace, err)
	}
	if redis.HasErrorPrefix(err, "EXECABORT") {
		// A MULTI whose commands Redis refused to queue: nothing was
		// written. Our commands are well-formed (tests prove it), so the
		// refusal is the server's state — out of memory past maxmemory,
		// a read-only replica, a failed snapshot — and passes.
		return fmt.Errorf("%w: a write was refused whole (out of memory, read-only or not persisting?): %w", ErrUnavailable, err)
	}
	if redisUnavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("state: redis: %w", err)
}

// redisFull reports Redis refusing writes for want of room: OOM past
// maxmemory, or MISCONF when it cannot persist its snapshot (a full disk
// under Redis). The write was refused whole, as on the embedded engine.
func redisFull(err error) bool {
	return redis.HasErrorPrefix(err, "OOM") || redis.HasErrorPrefix(err, "MISCONF")
}

// redisUnavailable reports errors of reaching or using the server, as
// opposed to errors of the request.
func redisUnavailable(err error) bool {
	var netErr net.Error
	switch {
	case errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, context.DeadlineExceeded), // a timeout of the client, not the caller's
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr),
		redis.IsLoadingError(err),
		redis.IsReadOnlyError(err),
		redis.IsClusterDownError(err),
		redis.HasErrorPrefix(err, "MASTERDOWN"),
		redis.HasErrorPrefix(err, "TRYAGAIN"),
		redis.HasErrorPrefix(err, "BUSY"):
		return true
	}
	return false
}
