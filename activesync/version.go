package activesync

import "fmt"

// Version is a protocol version times ten: 141 is 14.1. Comparing versions
// is comparing integers.
type Version int

const (
	V120 Version = 120
	V121 Version = 121
	V140 Version = 140
	V141 Version = 141
	V160 Version = 160
	V161 Version = 161
)

// SupportedVersions is what OPTIONS announces (MS-ASProtocolVersions).
const SupportedVersions = "12.0,12.1,14.0,14.1,16.0,16.1"

// ParseVersion accepts exactly the versions the bridge speaks.
func ParseVersion(s string) (Version, bool) {
	switch s {
	case "12.0":
		return V120, true
	case "12.1":
		return V121, true
	case "14.0":
		return V140, true
	case "14.1":
		return V141, true
	case "16.0":
		return V160, true
	case "16.1":
		return V161, true
	}
	return 0, false
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", int(v)/10, int(v)%10) }
