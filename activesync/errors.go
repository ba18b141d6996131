package activesync

import (
	"errors"
	"fmt"
)

// Status is an EAS status code. The common codes (MS-ASCMD 2.2.2) apply to
// every command from protocol 14.0 on; 12.x clients get HTTP codes instead.
type Status int

// Common status codes, MS-ASCMD 2.2.2.
const (
	StatusOK                      Status = 1
	StatusInvalidContent          Status = 101
	StatusInvalidWBXML            Status = 102
	StatusInvalidXML              Status = 103
	StatusInvalidDateTime         Status = 104
	StatusInvalidCombinationOfIDs Status = 105
	StatusDeviceIDInvalid         Status = 108
	StatusDeviceTypeInvalid       Status = 109
	StatusServerError             Status = 110
	StatusServerErrorRetryLater   Status = 111
	StatusMailboxServerOffline    Status = 114
	StatusAccessDenied            Status = 130
	StatusSyncStateNotFound       Status = 132
	StatusSyncStateLocked         Status = 133
	StatusCommandNotSupported     Status = 137
	StatusVersionNotSupported     Status = 138
	StatusRemoteWipeRequested     Status = 140
	StatusDeviceNotProvisioned    Status = 142
	StatusPolicyRefresh           Status = 143
	StatusInvalidPolicyKey        Status = 144
	StatusNoRecurrenceInCalendar  Status = 146 // an InstanceId names an event that does not recur
	StatusItemNotFound            Status = 150
	StatusTooManyFolders          Status = 151
)

// Error is a handler's typed failure. Exactly one of the fields decides
// the answer: HTTP when set, otherwise Status in the command's top-level
// Status element (or the HTTP code Fallback for 12.x clients, which do not
// know the common status codes).
type Error struct {
	HTTP     int    // answer with this HTTP code and no body
	Status   Status // EAS Status for 14.0+
	Fallback int    // HTTP code for 12.x when Status is set; default 500
	Retry    bool   // add Retry-After (transient)
	// Command marks Status as the command's own code (e.g. FolderSync 9),
	// which every protocol version understands, so 12.x gets it too.
	Command bool
	// Reported means the cause was already logged at ERROR by whoever
	// found it (once, not per request): the request is logged at WARN.
	Reported bool
	Msg      string // for the log line
	Err      error  // cause, for the log line
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Status != 0 {
		s = fmt.Sprintf("%s (status %d)", s, e.Status)
	}
	if e.HTTP != 0 {
		s = fmt.Sprintf("%s (HTTP %d)", s, e.HTTP)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// httpError answers with a bare HTTP code.
func httpError(code int, msg string, cause error) *Error {
	return &Error{HTTP: code, Msg: msg, Err: cause}
}

// statusError answers 14.0+ clients with an EAS status and 12.x clients with
// the HTTP code fallback.
func statusError(st Status, fallback int, msg string, cause error) *Error {
	return &Error{Status: st, Fallback: fallback, Msg: msg, Err: cause}
}

// Errors shared by commands.
var (
	errNotProvisioned = statusError(StatusDeviceNotProvisioned, 449, "device not provisioned", nil)
	errPolicyRefresh  = statusError(StatusPolicyRefresh, 449, "policy changed, provision again", nil)
	errBadPolicyKey   = statusError(StatusInvalidPolicyKey, 449, "policy key does not match", nil)
	errWipe           = statusError(StatusRemoteWipeRequested, 449, "remote wipe requested", nil)
)

// asError turns any error into an *Error: typed errors pass through,
// ErrUnavailable becomes a retryable 503 / status 111, anything else a
// server error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrUnavailable) {
		// 503 + Retry-After is understood by every protocol version and
		// every client; a command status would mean something different in
		// each command.
		return &Error{HTTP: 503, Retry: true, Msg: "dependency unavailable", Err: err}
	}
	if errors.Is(err, ErrBadCredentials) {
		// The provider refused the device's own (passthrough) password in
		// the middle of a command: it changed upstream. 401 makes the
		// device ask its user, as at login (MS-ASHTTP 3.2.5.1).
		return &Error{HTTP: 401, Msg: "credentials no longer accepted", Err: err}
	}
	return &Error{HTTP: 500, Msg: "internal error", Err: err}
}
