package davsync

import (
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// OneContactFolder says whether the client, by the DeviceType and
// User-Agent it sends (MS-ASHTTP 2.2.1.1.1.1), shows only one contacts
// folder: it then gets all address books merged into one (issue 14). A
// client that shows several gets them separately, so guessing wrong the
// other way hides books; the user file's contacts.merge_books overrides
// the guess either way.
//
// The families, and where each is known from (the behaviour Horde's
// ActiveSync server records per client in Horde_ActiveSync_Device
// _sniffMultiplex, read for the facts, and the project's research notes,
// shared/research/calendar-contacts.md 1.3):
//
//   - Samsung's native Email/Contacts app: DeviceType starting "SAMSUNG"
//     (e.g. "SAMSUNGSMG991B"), and its User-Agent "SAMSUNG-SM-..."; it
//     shows one folder of each kind (Horde merges everything for it).
//   - HTC One mini 2's native client: DeviceType "HTCOnemini2" (Horde).
//   - The stock Android (AOSP) Exchange client: DeviceType "Android" with a
//     User-Agent "Android/<os>-EAS-<v>"; Android 4.4 and later show several
//     calendars but one contacts folder (Horde).
//   - The Gmail app before 7.5: User-Agent "Android-Mail/<v>". Horde
//     records 7.5 as showing several folders; later versions are taken to
//     as well.
//   - Outlook desktop 2013/2016 (EAS accounts, e.g. Outlook.com's old
//     ones): User-Agent "Outlook/15.0" or "Outlook/16.0" (Horde: "do not
//     support multiple contact lists"), DeviceType "WindowsOutlook" or
//     "WindowsOutlook15" (the values issue 14 names; not confirmed from a
//     capture here).
//   - Windows Phone 8.0/8.1: User-Agent "MSFT-WP/8.0", "MSFT-WP/8.10",
//     DeviceType "WP8"; Windows Mobile: "MSFT-PPC", DeviceType "PocketPC"
//     (Horde: contacts must be merged).
//
// iOS (DeviceType iPhone/iPad, User-Agent "Apple-..."), Outlook for
// iOS/Android, Nine and other apps show every folder and are not merged.
func OneContactFolder(deviceType, userAgent string) bool {
	dt, ua := strings.ToLower(deviceType), strings.ToLower(userAgent)
	switch {
	case strings.HasPrefix(dt, "iphone"), strings.HasPrefix(dt, "ipad"), strings.HasPrefix(dt, "ipod"),
		strings.HasPrefix(ua, "apple-"):
		return false
	case strings.HasPrefix(dt, "samsung"), strings.HasPrefix(ua, "samsung-"):
		return true
	case dt == "htconemini2":
		return true
	case strings.HasPrefix(ua, "android-mail/"):
		return !versionAtLeast(ua[len("android-mail/"):], 7, 5)
	case dt == "android" && strings.HasPrefix(ua, "android/"):
		return true
	case strings.HasPrefix(dt, "windowsoutlook"),
		strings.Contains(ua, "outlook/15.0"), strings.Contains(ua, "outlook/16.0"):
		return true
	case strings.HasPrefix(ua, "msft-wp/8."), dt == "wp8", strings.HasPrefix(ua, "msft-ppc"), dt == "pocketpc":
		return true
	}
	return false
}

// versionAtLeast compares a dotted version's first two numbers; a
// version that does not read as one counts as new (not merged: guessing
// "several folders" wrong only shows the other books as folders).
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return true
	}
	mnr := 0
	if len(parts) > 1 {
		digits := parts[1]
		if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = digits[:i]
		}
		mnr, _ = strconv.Atoi(digits)
	}
	return maj > major || maj == major && mnr >= minor
}

// mergeBooks says whether this device of the user sees the address books
// merged: the user file's contacts.merge_books, else (auto) the client
// family.
func mergeBooks(p *accounts.Principal, c engine.Client) bool {
	mode := accounts.MergeBooksAuto
	if p != nil && p.User != nil && p.User.Contacts.MergeBooks != "" {
		mode = p.User.Contacts.MergeBooks
	}
	switch mode {
	case accounts.MergeBooksAlways:
		return true
	case accounts.MergeBooksNever:
		return false
	}
	return OneContactFolder(c.DeviceType, c.UserAgent)
}
