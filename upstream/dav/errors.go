package dav

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors a caller tests with errors.Is. A *StatusError matches the
// one for its HTTP status, so both errors.Is(err, ErrPrecondition) and
// errors.As(err, &se) work on everything this package returns.
var (
	ErrUnauthorized        = errors.New("dav: credentials refused")                     // 401
	ErrForbidden           = errors.New("dav: forbidden")                               // 403 (other than the sync-token precondition)
	ErrNotFound            = errors.New("dav: not found")                               // 404, 410
	ErrConflict            = errors.New("dav: conflict")                                // 409, e.g. CalDAV no-uid-conflict
	ErrPrecondition        = errors.New("dav: precondition failed (changed meanwhile)") // 412
	ErrInsufficientStorage = errors.New("dav: insufficient storage")                    // 507
	ErrRateLimited         = errors.New("dav: rate limited")                            // 429
	ErrUnavailable         = errors.New("dav: service unavailable")                     // 503
	// ErrInvalidSyncToken: the server no longer knows the stored sync token
	// (RFC 6578 3.2 DAV:valid-sync-token; Radicale 3.1.8 answers 403, others
	// 409). The caller drops the token and lists the collection once.
	ErrInvalidSyncToken = errors.New("dav: sync token invalid or expired")
	// ErrResponseTooLarge: the answer exceeded Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("dav: response too large")
	// ErrNotDAV: the server answered, but not as a CalDAV/CardDAV server.
	ErrNotDAV = errors.New("dav: not a CalDAV/CardDAV server")
)

// StatusError is an HTTP error status from the server.
type StatusError struct {
	Op           string        // our operation, e.g. "put"
	Href         string        // the resource the request was for
	Code         int           // HTTP status
	Precondition string        // local name of the DAV:error child, e.g. "no-uid-conflict"
	ConflictHref string        // the existing resource a 409 no-uid-conflict names, if any
	RetryAfter   time.Duration // from Retry-After on 429/503; 0 when absent
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("dav %s %s: %d %s", e.Op, e.Href, e.Code, http.StatusText(e.Code))
	if e.Precondition != "" {
		s += " (" + e.Precondition + ")"
	}
	if e.ConflictHref != "" {
		s += " existing " + e.ConflictHref
	}
	if e.RetryAfter > 0 {
		s += " retry after " + e.RetryAfter.String()
	}
	return s
}

// Is maps the status to the package's sentinel errors.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrInvalidSyncToken:
		return e.Precondition == "valid-sync-token"
	case ErrUnauthorized:
		return e.Code == http.StatusUnauthorized
	case ErrForbidden:
		return e.Code == http.StatusForbidden && e.Precondition != "valid-sync-token"
	case ErrNotFound:
		return e.Code == http.StatusNotFound || e.Code == http.StatusGone
	case ErrConflict:
		return e.Code == http.StatusConflict && e.Precondition != "valid-sync-token"
	case ErrPrecondition:
		return e.Code == http.StatusPreconditionFailed
	case ErrInsufficientStorage:
		return e.Code == http.StatusInsufficientStorage
	case ErrRateLimited:
		return e.Code == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.Code == http.StatusServiceUnavailable
	}
	return false
}

// Temporary says whether trying again later may succeed.
func (e *StatusError) Temporary() bool {
	return e.Code == http.StatusTooManyRequests || e.Code >= 500 && e.Code != http.StatusInsufficientStorage && e.Code != http.StatusNotImplemented
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP-date
// (RFC 9110 10.2.3); anything else, or a date in the past, gives 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	// A silly value must not park a user for years.
	const maxRetry = 24 * time.Hour
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(n, 0), int64(maxRetry/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil && t.After(now) {
		d = t.Sub(now)
	}
	return min(d, maxRetry)
}
