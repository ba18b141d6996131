package activesync

import (
	"context"
	"time"
)

// CertificateRetrieval values (MS-ASCMD 2.2.3.24): which S/MIME
// certificates a ResolveRecipients answer carries.
const (
	CertificatesNotWanted = 1 // none (the default)
	CertificatesFull      = 2 // the full certificates
	CertificatesMini      = 3 // the mini certificates
)

// Recipient types (MS-ASCMD 2.2.3.186.5).
const (
	RecipientTypeGAL     = 1 // an entry of the global address list
	RecipientTypeContact = 2 // one of the user's contacts
)

// RecipientQuery is a ResolveRecipients request (MS-ASCMD 2.2.1.15) as
// the Backend sees it: the protocol's limits (MaxAmbiguousRecipients,
// MaxCertificates, MaxPictures, the 100-recipient availability bound) are
// applied by the front to what the Backend returns.
type RecipientQuery struct {
	To []string // names or addresses, as typed; at most 1000
	// Certificates is CertificatesNotWanted, CertificatesFull or
	// CertificatesMini.
	Certificates int
	// Availability asks for free/busy from Start to End (only for
	// recipients that resolve to one entry).
	Availability bool
	Start, End   time.Time
	// Picture asks for photos, each at most MaxPictureSize bytes (0: no
	// bound but the contact limit).
	Picture        bool
	MaxPictureSize int
	// MaxAmbiguous and MaxPictures are the bounds the front applies to the
	// answer (MaxPictures 0: none); a Backend may use them to bound its
	// work.
	MaxAmbiguous, MaxPictures int
}

// Recipient is one resolved recipient or one suggestion.
type Recipient struct {
	Type         int // RecipientTypeGAL or RecipientTypeContact
	DisplayName  string
	EmailAddress string
	// Certificates are DER X.509 certificates (asked with
	// CertificatesFull or CertificatesMini; a Backend that has no mini
	// certificates gives the full ones).
	Certificates [][]byte
	// Availability is set when asked and the recipient resolved.
	Availability *Availability
	// Picture is set when asked (a status without data when none is held).
	Picture *GALPicture
}

// Availability is a recipient's free/busy: Status is an
// AvailabilityStatus*; MergedFreeBusy one digit per 30 minutes from the
// query's Start (0 free, 1 tentative, 2 busy, 3 out of office, 4 no data;
// MS-ASCMD 2.2.3.107) when Status is OK.
type Availability struct {
	Status         int
	MergedFreeBusy string
}

// RecipientResult answers one To: Status is RecipientStatusResolved (one
// Recipient), RecipientStatusAmbiguous (the candidates, best first; the
// front cuts them to MaxAmbiguousRecipients) or RecipientStatusUnresolved.
type RecipientResult struct {
	Status     int
	Recipients []Recipient
	// Total is the number of candidates found when the Backend returns
	// fewer (cut to MaxAmbiguous); 0 means len(Recipients).
	Total int
}

// RecipientResolver serves ResolveRecipients. It returns one result per
// To, in order; an error fails the whole command (a CommandStatus with a
// ResolveStatus* code answers that status).
type RecipientResolver interface {
	ResolveRecipients(ctx context.Context, acct Account, deviceID string, q *RecipientQuery) ([]RecipientResult, error)
}
