package accounts

// preset is the provider defaults a user file can name instead of spelling
// out every endpoint. Fields set in the file override the preset's.
type preset struct {
	IMAP, SMTP         Endpoint
	CalDAV, CardDAV    string
	SentCopyByProvider bool
	// NeedsHost marks generic presets (a self-hosted server): they bring ports
	// and security but the file must name imap.host; smtp.host defaults to it.
	NeedsHost bool
}

// presetByName returns the preset table. It is built per call so no caller
// can mutate shared state.
//
// SentCopyByProvider is false everywhere: none of these providers is known to
// file mail submitted over SMTP in Sent on its own, and a duplicate Sent copy
// is a smaller harm than a missing one. A user file can set it to true.
func presetByName(name string) (preset, bool) {
	switch name {
	case "fastmail":
		return preset{
			IMAP:    Endpoint{Host: "imap.fastmail.com", Port: 993, Security: SecurityTLS},
			SMTP:    Endpoint{Host: "smtp.fastmail.com", Port: 465, Security: SecurityTLS},
			CalDAV:  "https://caldav.fastmail.com/dav/",
			CardDAV: "https://carddav.fastmail.com/dav/",
		}, true
	case "mailbox.org":
		return preset{
			IMAP:    Endpoint{Host: "imap.mailbox.org", Port: 993, Security: SecurityTLS},
			SMTP:    Endpoint{Host: "smtp.mailbox.org", Port: 465, Security: SecurityTLS},
			CalDAV:  "https://dav.mailbox.org/",
			CardDAV: "https://dav.mailbox.org/",
		}, true
	case "dovecot":
		return preset{
			IMAP:      Endpoint{Port: 993, Security: SecurityTLS},
			SMTP:      Endpoint{Port: 587, Security: SecurityStartTLS},
			NeedsHost: true,
		}, true
	}
	return preset{}, false
}

// presetNames lists the accepted preset names, for error messages.
const presetNames = "fastmail, mailbox.org, dovecot"
