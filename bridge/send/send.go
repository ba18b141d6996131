package send

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/outage"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
	"github.com/idlebridge/idlebridge/upstream/smtp"
)

// Options tune the send engine.
type Options struct {
	// SMTPTLS is the base TLS configuration for submission (root CAs);
	// nil: system roots.
	SMTPTLS *tls.Config
	// SMTPTimeout bounds connecting and each SMTP command; 0: smtp default.
	SMTPTimeout time.Duration
	// HelloName is the EHLO name; "" means "localhost".
	HelloName string
	// ClientIDTTL is how long a message's record is kept, so a retry
	// within it is recognised (submissions.go); 0: 24 h.
	ClientIDTTL time.Duration
	// InFlightGrace is how old another instance's in-flight record must be
	// before a retry treats it as a crash leftover; 0: 1 min. Unused with
	// SoleInstance.
	InFlightGrace time.Duration
	// SoleInstance says no other process shares the store (the embedded
	// engine), so a record owned by another process is a crash leftover.
	SoleInstance bool
	// ResumeEvery is how often per user a request looks for Sent copies a
	// crash left owed; 0: 5 min.
	ResumeEvery time.Duration
	// MaxOriginalBytes bounds the original fetched for SmartReply and
	// SmartForward; 0: 64 MiB.
	MaxOriginalBytes int64
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Sender is the send engine: SendMail, SmartReply and SmartForward over
// the user's submission server, with the original and the Sent folder on
// their IMAP server. It implements activesync.Sender.
type Sender struct {
	store    state.Store
	sessions IMAPSessions
	folders  FolderResolver
	log      *slog.Logger
	opts     Options
	// submit is smtp.SendTracked; a field so that nothing else needs faking.
	submit func(ctx context.Context, cfg smtp.Config, from string, rcpts []string, msg []byte, beforeDot func() error) error
	// crash, when set (tests), is called at named points of a send to
	// simulate a process dying there (it panics or blocks).
	crash func(point string)

	// instance names this process in submission records; live holds its
	// attempts still running; resumed is when each user was last checked
	// for owed Sent copies.
	instance string
	liveMu   sync.Mutex
	live     map[string]struct{}
	resumed  map[string]time.Time
}

var _ activesync.Sender = (*Sender)(nil)

// New returns the send engine. log may be nil.
func New(store state.Store, sessions IMAPSessions, folders FolderResolver, log *slog.Logger, opts Options) *Sender {
	if log == nil {
		log = slog.Default()
	}
	if opts.ClientIDTTL <= 0 {
		opts.ClientIDTTL = 24 * time.Hour
	}
	if opts.InFlightGrace <= 0 {
		opts.InFlightGrace = time.Minute
	}
	if opts.MaxOriginalBytes <= 0 {
		opts.MaxOriginalBytes = 64 << 20
	}
	if opts.ResumeEvery <= 0 {
		opts.ResumeEvery = 5 * time.Minute
	}
	var inst [6]byte
	_, _ = rand.Read(inst[:])
	return &Sender{store: store, sessions: sessions, folders: folders, log: log, opts: opts,
		submit: func(ctx context.Context, cfg smtp.Config, from string, rcpts []string, msg []byte, beforeDot func() error) error {
			return smtp.SendTracked(ctx, cfg, from, rcpts, bytes.NewReader(msg), beforeDot)
		},
		instance: hex.EncodeToString(inst[:]),
		live:     map[string]struct{}{},
		resumed:  map[string]time.Time{},
	}
}

func (s *Sender) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// Send implements activesync.Sender.
func (s *Sender) Send(ctx context.Context, a activesync.Account, deviceID string, m *activesync.OutgoingMail) error {
	acct, err := login.Of(a)
	if err != nil {
		return err
	}
	user := acct.Address()
	log := s.log.With("user", user, "device", deviceID, "cmd", m.Kind, "client_id", m.ClientID)

	hdr, body, err := splitMessage(m.MIME)
	if err != nil {
		log.Warn("send refused: unreadable message", "err", err)
		return activesync.CommandStatus(int(activesync.StatusInvalidContent), "unreadable message")
	}
	rcpts, err := ParseRecipients(append(append(hdr.Values("To"), hdr.Values("Cc")...), hdr.Values("Bcc")...)...)
	if err != nil {
		log.Warn("send refused: bad recipient", "err", err)
		return activesync.CommandStatus(int(activesync.StatusMessageRecipientUnresolved), err.Error())
	}
	if len(rcpts) == 0 {
		log.Warn("send refused: no recipients")
		return activesync.CommandStatus(int(activesync.StatusMessageHasNoRecipient), "no recipients")
	}

	key := submissionKey(deviceID, m)
	log = log.With("submission", key)
	rec, outcome, err := s.claim(ctx, user, deviceID, key, m.ClientID)
	if err != nil {
		return outage.Store(err)
	}
	switch outcome {
	case claimAlreadySent:
		log.Info("send skipped: this message was sent before")
		if rec != nil {
			if err := s.finishSentCopy(context.WithoutCancel(ctx), acct, rec); err != nil {
				log.Error("owed Sent copy not written; retried at a later request", "err", err)
			}
		}
		return nil
	case claimUncertain:
		log.Error("send not confirmed: a previous attempt ended after handing the message to the server and before its answer; it may or may not have been delivered, so it is not sent again")
		return activesync.CommandStatus(statusNotConfirmed, "previous attempt not confirmed")
	case claimBusy:
		return fmt.Errorf("%w: this message is being sent by another request", activesync.ErrUnavailable)
	}
	defer s.setLive(rec.Owner, false)
	// settled is false while a failure means "not sent": the record is
	// then dropped so the device's retry sends.
	settled := false
	defer func() {
		if r := recover(); r != nil {
			// A panic is handled like a crash: the record stays as it
			// is, so a retry decides from the phase reached.
			panic(r)
		}
		if !settled {
			if err := s.store.DeleteSubmission(context.WithoutCancel(ctx), user, key, rec.Rev); err != nil && !errors.Is(err, state.ErrConflict) {
				// The claim stays; its owner is gone once this returns,
				// so a retry still sends (nothing reached the dot, or the
				// server refused it).
				log.Warn("could not drop the record of a failed send", "err", err)
			}
		}
	}()

	var orig *original
	if m.Kind != "SendMail" {
		orig, err = s.fetchOriginal(ctx, acct, m)
		switch {
		case err == nil:
		case errors.Is(err, ErrOriginalGone) && m.ReplaceMime:
			// The device sent the whole message; the original only adds
			// threading and flags.
			log.Warn("original not found; sending the device's message as is", "err", err)
		case errors.Is(err, ErrOriginalGone):
			log.Warn("send refused: original not found", "err", err)
			return activesync.CommandStatus(int(activesync.StatusItemNotFound), "original message not found")
		case errors.Is(err, ErrOriginalTooLarge):
			log.Warn("send refused: original too large", "err", err)
			return activesync.CommandStatus(int(activesync.StatusMessageReplyFailed), "original too large")
		default:
			return err
		}
	}
	msg := compose(hdr, body, orig, m.Kind, m.ReplaceMime, user, s.now())

	s.crashPoint("claimed")
	cfg := s.smtpConfig(acct)
	// Once started, the SMTP exchange runs to its end even if the device
	// hangs up: cut after the dot, the outcome would be unknowable and the
	// device's retry told "not confirmed". The smtp package bounds every
	// step (connect and commands, 10 min for the answer to the dot).
	err = s.submit(context.WithoutCancel(ctx), cfg, user, rcpts, msg.wire, func() error {
		// Crash point "before the dot" ends here: once the record says
		// data, a retry no longer sends.
		n, err := s.advance(context.WithoutCancel(ctx), user, rec, state.SubmissionData, nil)
		if err != nil {
			return err
		}
		rec = n
		s.crashPoint("data")
		return nil
	})
	if err != nil {
		var se *smtp.Error
		switch {
		case errors.As(err, &se) && se.Uncertain:
			settled = true // the server may hold it: keep the data record
			log.Error("send not confirmed: the server did not answer the end of the message; not sending it again", "err", se.Error())
			return activesync.CommandStatus(statusNotConfirmed, "submission not confirmed")
		case errors.Is(err, state.ErrConflict):
			// Another request took the claim over; it sends.
			settled = true
			return fmt.Errorf("%w: this message is being sent by another request", activesync.ErrUnavailable)
		case errors.As(err, &se):
			return s.submitFailure(log, err)
		default:
			log.Error("send aborted before the end of the message", "err", err)
			return outage.Store(err)
		}
	}
	settled = true
	s.crashPoint("sent")
	log.Info("mail sent", "recipients", len(rcpts), "bytes", len(msg.wire))
	var owed []byte
	if m.SaveInSent && !acct.Principal.User.SentCopyByProvider {
		owed = msg.copy
	}
	s.afterAccept(context.WithoutCancel(ctx), log, acct, rec, owed)
	if orig != nil {
		if err := s.flagOriginal(context.WithoutCancel(ctx), acct, orig, m.Kind); err != nil {
			log.Warn("original not flagged", "err", err)
		}
	}
	return nil
}

// afterAccept records the accept (with the Sent copy still owed), writes
// the copy and marks the record done. The message is out: failures here
// are logged, never reported as a failed send (the device would send
// again), and what is left undone stays in the record for a repair.
func (s *Sender) afterAccept(ctx context.Context, log *slog.Logger, acct *login.Account, rec *state.Submission, owed []byte) {
	user := acct.Address()
	accepted, err := s.advance(ctx, user, rec, state.SubmissionAccepted, owed)
	if err != nil {
		// The data record stays: a retry is told "not confirmed", never
		// sent twice.
		log.Error("could not record the accepted send", "err", err)
	}
	s.crashPoint("accepted")
	if owed != nil {
		if err := s.saveSentCopy(ctx, acct, owed); err != nil {
			// The record keeps the copy: a later request repairs it.
			log.Error("sent copy not saved; retried at a later request", "err", err)
			return
		}
	}
	if accepted != nil {
		if _, err := s.advance(ctx, user, accepted, state.SubmissionDone, nil); err != nil {
			log.Warn("could not record the send as done", "err", err)
		}
	}
}

// crashPoint lets tests stop a send at a named point as a crash would:
// "claimed" (record claimed, nothing sent), "data" (record says data, dot
// not sent), "sent" (server accepted, not recorded), "accepted" (recorded,
// Sent copy not written).
func (s *Sender) crashPoint(point string) {
	if s.crash != nil {
		s.crash(point)
	}
}

func (s *Sender) smtpConfig(acct *login.Account) smtp.Config {
	p := acct.Principal
	ep := p.User.SMTP
	var tc *tls.Config
	if s.opts.SMTPTLS != nil {
		tc = s.opts.SMTPTLS.Clone()
	}
	return smtp.Config{
		Addr:      ep.Addr(),
		Security:  string(ep.Security),
		TLSConfig: tc,
		Username:  p.Upstream.Username,
		Password:  p.Upstream.Password,
		Timeout:   s.opts.SMTPTimeout,
		HelloName: s.opts.HelloName,
	}
}

// submitFailure maps a submission error to what the device is told, and
// logs why (never the message).
func (s *Sender) submitFailure(log *slog.Logger, err error) error {
	var se *smtp.Error
	if !errors.As(err, &se) {
		log.Error("send failed", "reason", "other", "err", err)
		return activesync.CommandStatus(int(activesync.StatusMailSubmissionFailed), "submission failed")
	}
	log.Warn("send failed", "reason", se.Kind.String(), "err", se.Error())
	switch {
	case se.Kind == smtp.KindRecipient:
		return activesync.CommandStatus(int(activesync.StatusMessageRecipientUnresolved), "recipient refused")
	case se.Kind == smtp.KindTooLarge:
		return activesync.CommandStatus(int(activesync.StatusAttachmentIsTooLarge), "message too large")
	case se.Kind == smtp.KindUnavailable || se.Temporary:
		return fmt.Errorf("%w: %w", activesync.ErrUnavailable, err)
	default:
		// KindAuth included: the device's password works for IMAP, so
		// asking the user for a new one would not help.
		return activesync.CommandStatus(int(activesync.StatusMailSubmissionFailed), "submission failed")
	}
}

// Why an original (or an invitation MeetingResponse reads) is not there
// to use.
var (
	ErrOriginalGone     = errors.New("original message not found")
	ErrOriginalTooLarge = errors.New("original message too large")
)

// fetchOriginal reads the message a SmartReply/SmartForward names: by
// ItemId, or by the LongId of a Search result (which this bridge issues
// in the same "<folderID>:<UID>" form, bridge/mail/search.go).
func (s *Sender) fetchOriginal(ctx context.Context, acct *login.Account, m *activesync.OutgoingMail) (*original, error) {
	id := m.SourceItemID
	if id == "" {
		id = m.SourceLongID
	}
	folderID, uid, ok := mailid.ParseItem(id)
	if !ok {
		return nil, fmt.Errorf("%w: item %q", ErrOriginalGone, id)
	}
	if s.folders == nil {
		return nil, errors.New("send: the send engine has no folder resolver")
	}
	mailbox, ok, err := s.folders.MailboxOf(ctx, acct, folderID)
	if err != nil {
		return nil, outage.Store(err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: folder %q", ErrOriginalGone, folderID)
	}
	raw, err := s.FetchRaw(ctx, acct, mailbox, uid, s.opts.MaxOriginalBytes)
	if err != nil {
		return nil, err
	}
	hdr, body, err := splitMessage(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOriginalGone, err)
	}
	return &original{mailbox: mailbox, uid: uid, hdr: hdr, root: parseMIME(hdr, body)}, nil
}

// FetchRaw reads message uid of mailbox whole, at most limit bytes:
// ErrOriginalGone when the server does not have it, ErrOriginalTooLarge
// beyond limit. MeetingResponse reads invitations with it too.
func (s *Sender) FetchRaw(ctx context.Context, acct *login.Account, mailbox string, uid uint32, limit int64) ([]byte, error) {
	raw := limitedBuffer{limit: limit}
	err := s.withSession(ctx, acct, func(sess *imap.Session) error {
		if _, err := sess.Select(ctx, mailbox, true); err != nil {
			return err
		}
		_, err := sess.FetchMessage(ctx, uid, &raw)
		return err
	})
	switch {
	case errors.Is(err, imap.ErrNoMessage) || isServerNo(err):
		return nil, fmt.Errorf("%w: %w", ErrOriginalGone, err)
	case err != nil:
		return nil, err
	}
	return raw.Bytes(), nil
}

// Folders is the folder resolver the send engine finds originals with
// (nil when it has none).
func (s *Sender) Folders() FolderResolver { return s.folders }

// limitedBuffer fails writes beyond limit.
type limitedBuffer struct {
	bytes.Buffer
	limit int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.limit {
		return 0, ErrOriginalTooLarge
	}
	return b.Buffer.Write(p)
}

// saveSentCopy appends the message to the user's Sent folder with \Seen
// (the SPECIAL-USE \Sent folder, else a well-known name, else a new
// "Sent").
func (s *Sender) saveSentCopy(ctx context.Context, acct *login.Account, msg []byte) error {
	return s.withSession(ctx, acct, func(sess *imap.Session) error {
		folders, err := sess.ListFolders(ctx)
		if err != nil {
			return err
		}
		name := ""
		for _, f := range folders {
			if f.Special == imap.SpecialSent && !f.NoSelect {
				name = f.Name
				break
			}
		}
		if name == "" {
			name = "Sent"
			if err := sess.CreateFolder(ctx, name); err != nil && !isServerNo(err) {
				return err
			}
		}
		if err := s.markChanging(ctx, acct.Address(), name); err != nil {
			return err
		}
		_, err = sess.Append(ctx, name, []string{`\Seen`}, time.Time{}, bytes.NewReader(msg), int64(len(msg)))
		return err
	})
}

// flagOriginal marks the original \Answered (reply) or $Forwarded
// (forward, the keyword of RFC 5788's registry).
func (s *Sender) flagOriginal(ctx context.Context, acct *login.Account, orig *original, kind string) error {
	flag := `\Answered`
	if kind == "SmartForward" {
		flag = "$Forwarded"
	}
	return s.withSession(ctx, acct, func(sess *imap.Session) error {
		if _, err := sess.Select(ctx, orig.mailbox, false); err != nil {
			return err
		}
		if err := s.markChanging(ctx, acct.Address(), orig.mailbox); err != nil {
			return err
		}
		return sess.Store(ctx, imap.UIDs(orig.uid), imap.StoreAdd, []string{flag})
	})
}

func (s *Sender) withSession(ctx context.Context, acct *login.Account, fn func(*imap.Session) error) error {
	sess, release, err := s.sessions.Acquire(ctx, acct)
	if err != nil {
		return err
	}
	err = fn(sess)
	release(errors.Is(err, imap.ErrBroken) || sess.Broken())
	return outage.Upstream(err)
}

// isServerNo reports whether err is a tagged NO/BAD from the IMAP server,
// i.e. the server refused this one operation and the session is fine.
func isServerNo(err error) bool {
	var se *imap.ServerError
	return errors.As(err, &se)
}

// markChanging marks a mailbox's upstream version record stale before
// the send engine changes the mailbox (the Sent copy, the original's
// \Answered flag), so no parked device's re-check trusts a record the
// change outdates (state.Versions; bridge/mail's Recheck).
func (s *Sender) markChanging(ctx context.Context, user, mailbox string) error {
	return s.store.StaleVersion(ctx, user, mailbox, time.Now())
}
