package mailconv

import (
	"time"

	"github.com/idlebridge/idlebridge/bridge/calconv"
)

// Options says what the device asked for in Sync/ItemOperations Options.
type Options struct {
	Version        int              // protocol version ×10: 121, 140, 141, 160, 161
	BodyPrefs      []BodyPreference // AirSyncBase:BodyPreference in the order the device sent them
	MIMESupport    int              // AirSync:MIMESupport 0 never, 1 S/MIME only, 2 always MIME
	MIMETruncation int              // 12.1 AirSync:MIMETruncation code 0..8, -1 = not given
	Preview        bool             // unused here; previews come from BodyPreference.Preview

	// Zones and UserZone convert invitations (bridge/imip): the TZID
	// resolver and TimeZone blob builder (nil: a shared bridge/caltz one),
	// and the zone all-day meetings are placed in (nil: UTC).
	Zones    calconv.Zones
	UserZone *time.Location
}

// BodyPreference is one AirSyncBase:BodyPreference (MS-ASAIRS 2.2.2.12).
type BodyPreference struct {
	Type           int   // 1 plain text, 2 HTML, 3 RTF (answered with plain), 4 MIME
	TruncationSize int64 // 0 = no truncation
	AllOrNone      bool  // larger than TruncationSize: try the next preference, else send no Data
	Preview        int   // 0 none; else characters of plain-text preview (max 255), 14.0+
}

// Body types of AirSyncBase:Type (MS-ASAIRS 2.2.2.41.1).
const (
	BodyPlain = 1
	BodyHTML  = 2
	BodyRTF   = 3
	BodyMIME  = 4
)

// Meta is what IMAP knows about the message besides its bytes.
type Meta struct {
	ServerID     string    // e.g. "7:1042", used to build FileReferences "7:1042:<part path>"
	Flags        []string  // IMAP flags and keywords
	InternalDate time.Time // DateReceived
	Size         int64     // RFC822.SIZE, for the MIME body's EstimatedDataSize
	Truncated    bool      // raw holds only a prefix of the message
}

// mimeTruncationSizes maps AirSync:MIMETruncation codes to sizes
// (MS-ASCMD 2.2.3.111); code 8 and unknown codes mean no truncation.
var mimeTruncationSizes = [...]int64{0, 4096, 5120, 7168, 10240, 20480, 51200, 102400}

// mimeTruncationSize returns the truncation size for a MIMETruncation code;
// truncate is false when the code asks for the whole message.
func mimeTruncationSize(code int) (size int64, truncate bool) {
	if code < 0 || code >= len(mimeTruncationSizes) {
		return 0, false
	}
	return mimeTruncationSizes[code], true
}
