package mailconv

import (
	"strings"

	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// flagState is the EAS view of a message's IMAP flags.
type flagState struct {
	seen, flagged, answered, forwarded, draft bool
	categories                                []string
}

// readFlags interprets IMAP flags and keywords. Keywords that start with
// neither "\" nor "$" become categories, except the junk markers mail
// clients set (they are filter state, not user labels).
func readFlags(flags []string) flagState {
	var s flagState
	seenCat := map[string]bool{}
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`:
			s.seen = true
		case `\flagged`:
			s.flagged = true
		case `\answered`:
			s.answered = true
		case `$forwarded`:
			s.forwarded = true
		case `\draft`:
			s.draft = true
		case "junk", "nonjunk", "notjunk":
		default:
			if f == "" || f[0] == '\\' || f[0] == '$' || seenCat[f] {
				continue
			}
			seenCat[f] = true
			s.categories = append(s.categories, clean(f))
		}
	}
	return s
}

// lastVerb is Email2:LastVerbExecuted (MS-ASEMAIL 2.2.2.44: 1 reply to
// sender, 3 forward); 0 = none. IMAP cannot tell reply from reply-all.
func (s flagState) lastVerb() int {
	switch {
	case s.answered:
		return 1
	case s.forwarded:
		return 3
	}
	return 0
}

// flagOf is Email:Flag: empty when not flagged (that clears a flag on the
// device), else an active follow-up flag (MS-ASEMAIL 2.2.2.34).
func flagOf(flagged bool) items.Flag {
	if flagged {
		return items.Flag{Status: items.FlagActive, Type: flagTypeFollowUp}
	}
	return items.Flag{}
}

// ChangeData builds the ApplicationData of a Sync <Change> for a message
// whose IMAP flags changed: Email:Read, Email:Flag, and for 14.0+
// Email:Categories (always sent, empty when none, so removals reach the
// device) and Email2:LastVerbExecuted when answered/forwarded.
func ChangeData(flags []string, opts Options) *wbxml.Element {
	s := readFlags(flags)
	fl := flagOf(s.flagged)
	ch := &items.EmailChange{Read: &s.seen, Flag: &fl, Categories: s.categories}
	if ch.Categories == nil {
		ch.Categories = []string{}
	}
	if v := s.lastVerb(); v != 0 {
		ch.LastVerbExecuted = &v
	}
	return ch.Encode(items.Version(opts.Version))
}

// EmailChange is what a device changed on an email in a Sync <Change>.
// nil fields were not mentioned and must be left alone.
type EmailChange struct {
	Read *bool
	// Flagged maps Email:Flag: an empty Flag or FlagStatus 0 → false;
	// FlagStatus 2 (active) → true; FlagStatus 1 (complete) → false,
	// because IMAP has no "completed" state and a completed follow-up is
	// no longer pending.
	Flagged    *bool
	Categories *[]string // non-nil empty slice = remove all categories
}

// ParseChange reads a device's <ApplicationData> of a Sync Change for
// Email (items.DecodeEmailChange). Unknown elements are ignored; a nil
// element yields no changes.
func ParseChange(appData *wbxml.Element) EmailChange {
	var ch EmailChange
	d, err := items.DecodeEmailChange(appData, 0)
	if err != nil || d == nil {
		return ch
	}
	ch.Read = d.Read
	if d.Flag != nil {
		v := d.Flag.Status == items.FlagActive
		ch.Flagged = &v
	}
	if d.Categories != nil {
		ch.Categories = &d.Categories
	}
	return ch
}
