// Package state holds everything the bridge remembers between requests:
// devices, their policy keys and wipe state, and per-collection sync state.
// The provider stays the source of truth for mail, events and contacts; the
// store keeps only what ActiveSync needs to talk to a device incrementally.
//
// Two engines implement Store: the embedded engine (bbolt, one file in the
// data directory, single node) and the Redis engine (scale-out, several
// bridge instances sharing one Redis). Both pass the same conformance suite
// (conformance_test.go), which every extension of Store must extend.
package state

import (
	"context"
	"errors"
	"time"
)

// Errors every engine returns, so callers can branch with errors.Is.
var (
	// ErrNotFound: the device, collection or lease does not exist.
	ErrNotFound = errors.New("state: not found")
	// ErrConflict: a compare-and-swap lost a race with another writer. The
	// caller did not change anything and may retry from a fresh read.
	ErrConflict = errors.New("state: concurrent update, retry")
	// ErrUnavailable: the engine cannot be reached (Redis down). Retryable;
	// the HTTP front turns it into 503 with Retry-After.
	ErrUnavailable = errors.New("state: store unavailable")
	// ErrNoSpace: the engine's disk (or Redis's memory) is full. It always
	// comes wrapped together with ErrUnavailable: the write was not made,
	// the stored state is intact, and the device may retry once the
	// operator freed space.
	ErrNoSpace = errors.New("state: no space left")
)

// WipeStatus tracks a remote wipe (MS-ASPROV 3.2.5.1.2) from the admin's
// request to the device's acknowledgement.
type WipeStatus int

const (
	WipeNone      WipeStatus = iota // no wipe requested
	WipeRequested                   // an admin asked; the next request is told to wipe
	WipeSent                        // the device was sent RemoteWipe and has not acknowledged
	WipeDone                        // the device acknowledged the wipe
)

func (w WipeStatus) String() string {
	switch w {
	case WipeNone:
		return "none"
	case WipeRequested:
		return "requested"
	case WipeSent:
		return "sent"
	case WipeDone:
		return "wiped"
	}
	return "unknown"
}

// Device is one phone (or one app install) of one user. The pair
// (User, ID) is the identity; ID is the DeviceId query parameter.
type Device struct {
	User            string            `json:"user"`
	ID              string            `json:"id"`
	Type            string            `json:"type,omitempty"`       // DeviceType query parameter
	UserAgent       string            `json:"user_agent,omitempty"` // User-Agent header
	ProtocolVersion string            `json:"protocol,omitempty"`   // last MS-ASProtocolVersion seen
	Info            map[string]string `json:"info,omitempty"`       // Settings DeviceInformation (Model, IMEI, OS, ...)

	// PolicyKey is the key the device acknowledged in the second phase of
	// Provision; 0 means not provisioned. PendingPolicyKey is the key handed
	// out in the first phase and not yet acknowledged.
	PolicyKey        uint32 `json:"policy_key,omitempty"`
	PendingPolicyKey uint32 `json:"pending_policy_key,omitempty"`
	// PolicyHash identifies the policy the device acknowledged, so a policy
	// change sends it back to Provision.
	PolicyHash string `json:"policy_hash,omitempty"`

	Wipe          WipeStatus `json:"wipe,omitempty"`
	WipeRequested time.Time  `json:"wipe_requested,omitzero"`
	WipeAcked     time.Time  `json:"wipe_acked,omitzero"`

	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// LastActive is the last request that was not a Ping.
	LastActive time.Time `json:"last_active,omitzero"`

	// Meta is free-form per-device state that later features keep with the
	// device (last Ping folder set and heartbeat, cached Sync request, ...).
	Meta map[string]string `json:"meta,omitempty"`
}

// Store is the bridge's memory. All methods are safe for concurrent use and
// take a context for cancellation. Read methods return copies; mutating a
// returned value never changes the store.
type Store interface {
	Devices
	Syncs
	Submissions
	Watches
	Versions
	// Ping reports whether the engine is reachable (readiness checks).
	Ping(ctx context.Context) error
	// Close releases the engine; the store is unusable afterwards.
	Close() error
}

// Devices stores device records.
type Devices interface {
	// GetDevice returns ErrNotFound when the device is unknown.
	GetDevice(ctx context.Context, user, deviceID string) (*Device, error)
	// UpdateDevice atomically reads the device (a fresh zero Device with User
	// and ID set and FirstSeen zero when absent), calls fn, and writes the
	// result back. If fn returns an error nothing is written and that error
	// is returned. The engine may call fn more than once when it loses a race.
	UpdateDevice(ctx context.Context, user, deviceID string, fn func(*Device) error) (*Device, error)
	// ListDevices lists a user's devices, ordered by ID.
	ListDevices(ctx context.Context, user string) ([]*Device, error)
	// ListUsers lists users that have at least one device, sorted.
	ListUsers(ctx context.Context) ([]string, error)
	// DeleteDevice removes a device and all its sync state. Deleting an
	// unknown device is not an error.
	DeleteDevice(ctx context.Context, user, deviceID string) error
}

// Syncs stores per-(user, device, collection) sync state. A collection is
// either a folder the device syncs (collection ID "7") or the folder
// hierarchy itself (collection ID "" by convention of the caller).
//
// The device's snapshot (server ID -> version, e.g. "7:1042" -> "modseq" for
// mail, ETag for DAV) can hold 100 000 entries, so it is never rewritten in
// full for a small change: Commit applies a Delta.
//
// Sync-key protocol (MS-ASCMD 2.2.3.177.16): when the bridge answers a Sync
// with new key K+1, it calls Commit with the delta the answer carries as
// Pending. The snapshot itself still reflects key K until the device comes
// back with K+1, proving it received the answer; then the caller calls
// Commit again, which first folds the pending delta into the snapshot. If
// the device instead resends K (the answer was lost), the pending delta is
// simply replaced. That keeps the previous key's state without a copy.
type Syncs interface {
	// GetCollection returns the collection header (no snapshot), or
	// ErrNotFound.
	GetCollection(ctx context.Context, user, deviceID, collectionID string) (*Collection, error)
	// ListCollections lists the headers of a device's collections.
	ListCollections(ctx context.Context, user, deviceID string) ([]*Collection, error)
	// Snapshot returns the committed snapshot of a collection (without the
	// pending delta). An unknown collection has an empty snapshot.
	Snapshot(ctx context.Context, user, deviceID, collectionID string) (map[string]string, error)
	// SnapshotGet returns the committed versions of the given server IDs
	// only (missing IDs are absent from the result).
	SnapshotGet(ctx context.Context, user, deviceID, collectionID string, ids []string) (map[string]string, error)
	// Commit atomically applies an update to a collection, if and only if the
	// stored header's Generation still equals expectGeneration (0 for a
	// collection that does not exist yet); otherwise ErrConflict and nothing
	// changes. See CommitRequest.
	Commit(ctx context.Context, user, deviceID, collectionID string, expectGeneration uint64, req CommitRequest) (*Collection, error)
	// ResetCollection drops the header, snapshot and pending delta (sync key
	// 0, UIDVALIDITY change, admin resync).
	ResetCollection(ctx context.Context, user, deviceID, collectionID string) error
}

// Collection is the small, frequently read part of a collection's state.
type Collection struct {
	ID string `json:"id"`
	// Generation increases by one on every Commit; it is the CAS token.
	Generation uint64 `json:"gen"`
	// SyncKey is the key the device must present next (the newest one the
	// bridge issued). PrevSyncKey is the one before it, still accepted as a
	// retry of a lost answer.
	SyncKey     string `json:"key,omitempty"`
	PrevSyncKey string `json:"prev,omitempty"`
	// Pending is the delta carried by the answer that issued SyncKey; it
	// reaches the snapshot when the device presents SyncKey. Nil when none.
	Pending *Delta `json:"pending,omitempty"`
	// Meta carries engine-agnostic per-collection facts the sync engine keeps
	// (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, DAV sync token, class, filter...).
	Meta map[string]string `json:"meta,omitempty"`
	// Updated is when the header was last written.
	Updated time.Time `json:"updated,omitzero"`
}

// Delta is a change to a snapshot: Set adds or updates entries, Del removes
// them. Del applies after Set, so an ID in both ends up deleted.
type Delta struct {
	Set map[string]string `json:"set,omitempty"`
	Del []string          `json:"del,omitempty"`
	// Response optionally caches the encoded answer that issued the key, so
	// a resent key can be answered byte for byte the same.
	Response []byte `json:"resp,omitempty"`
}

// Empty reports whether the delta changes nothing.
func (d *Delta) Empty() bool { return d == nil || (len(d.Set) == 0 && len(d.Del) == 0) }

// CommitRequest describes one atomic update of a collection:
//  1. if ApplyPending, fold the stored Pending delta into the snapshot;
//  2. apply Apply to the snapshot (changes known to be on the device
//     already, e.g. the device's own Adds and Changes);
//  3. set the header: SyncKey, PrevSyncKey, Pending, Meta (nil Meta keeps
//     the stored one) exactly as given; Generation is bumped by the engine.
type CommitRequest struct {
	ApplyPending bool
	Apply        *Delta
	SyncKey      string
	PrevSyncKey  string
	Pending      *Delta
	Meta         map[string]string
}

// UserScope is the reserved device ID under which the bridge keeps state
// shared by all devices of a user (the folder ID map), using the same
// collection machinery. It can never be a real device: activesync accepts
// no '~' in device IDs. Engines never list it as a device nor expire it
// with the device TTL.
const UserScope = "~user"
