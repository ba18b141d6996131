package bridge

import (
	"log/slog"

	"github.com/idlebridge/idlebridge/bridge/imappools"
)

// The request path's per-user IMAP pools are bridge/imappools'; these
// names keep the bridge's API (Config.Upstreams, serve's wiring) as it was.

// Upstreams is the registry of per-user IMAP pools used by requests.
type Upstreams = imappools.Registry

// UpstreamOptions bound the IMAP connections the request path keeps per
// user.
type UpstreamOptions = imappools.Options

// ErrStoredSecretRefused is wrapped (with activesync.ErrUnavailable) when
// the provider refuses the app password from a user's file.
var ErrStoredSecretRefused = imappools.ErrStoredSecretRefused

// NewUpstreams starts the registry and its janitor; Close stops both.
func NewUpstreams(opts UpstreamOptions, log *slog.Logger) *Upstreams {
	return imappools.New(opts, log)
}
