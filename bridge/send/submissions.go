package send

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/smtp"
)

// Exactly-once sending. Every message gets a durable record in the store
// (state.Submission), keyed by what identifies a retry of it:
//
//   - "c:<device>:<ClientId>" for 14.0+ (MS-ASCMD 2.2.3.28.1: the server
//     uses the ClientId to spot a message the device sends again);
//   - "m:<device>:<digest>" for 12.x raw-MIME sends, which carry no
//     ClientId: the digest covers the command, its source item and the
//     message exactly as the device posted it, Message-ID included. The
//     bridge adds a Message-ID to a message that has none, but a retry
//     posts the same bytes without one again, so the key is taken before
//     composing. Only a byte-identical message from the same device within
//     the retention is taken for a retry; a Message-ID alone is not
//     trusted (some clients reuse them), since dropping a distinct message
//     would be a silent loss.
//
// The record moves claimed → data → accepted → done:
//
//   - claimed: written before anything else; nothing reached the server's
//     final DATA dot, so a retry finding a claim whose owner is gone sends.
//   - data: written just before the final dot (smtp.SendTracked). From
//     here the server may hold the message. A retry finding it with the
//     owner gone cannot know, so the device is told the send was not
//     confirmed (status 110) and an ERROR is logged: never "OK" with
//     nothing sent, never a second copy to every recipient.
//   - accepted: the server said 250. The Sent copy still owed rides in the
//     record, so a crash before it is written is repaired: by the device's
//     retry of the same message (answered OK), or at the user's next
//     request (ResumeSentCopies). Not at start-up: pass-through users'
//     passwords live only in memory, so only a request can log in for them.
//   - done: nothing left to do; kept until retention ends so a retry is
//     answered OK without sending.
//
// A failure that settles the outcome (a refusal, a failure before the dot)
// deletes the record, so the device's retry sends.
//
// Whether an owner is gone: one of this process's own requests is alive
// while it runs (Sender.live); another process's owner is gone when the
// store is this process's alone (SoleInstance, the embedded engine, whose
// file lock excludes a second process), and otherwise once its record is
// older than InFlightGrace (plus, in the data phase, the time a server may
// take to answer the dot).

// casRetries bounds the compare-and-swap rounds of one claim.
const casRetries = 8

// Key prefixes of submission records.
const (
	subKeyClientID = "c:"
	subKeyDigest   = "m:"
)

// statusNotConfirmed answers a send that may or may not have gone out.
// MS-ASCMD 2.2.2: 110 ServerError; unlike 111 (ServerErrorRetryLater) it
// does not invite an automatic retry, and unlike 120 (MailSubmissionFailed)
// it does not claim the message was refused. 12.x clients get HTTP 500.
const statusNotConfirmed = int(activesync.StatusServerError)

// legacyClientIDCollection is where the previous version kept ClientId
// markers ("inflight:<unix>" or "sent:<unix>") per device. They are read,
// never written, so a retry across the upgrade is still recognised; they
// age out with the 24 h retention and the collection can then be dropped.
const legacyClientIDCollection = "sendmail.clientids"

// submissionKey names the record of m.
func submissionKey(deviceID string, m *activesync.OutgoingMail) string {
	if m.ClientID != "" {
		return subKeyClientID + deviceID + ":" + m.ClientID
	}
	h := sha256.New()
	for _, part := range []string{m.Kind, m.SourceFolderID, m.SourceItemID, m.SourceLongID} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":" + part))
	}
	h.Write(m.MIME)
	return subKeyDigest + deviceID + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// claimOutcome says what to do with a message.
type claimOutcome int

const (
	claimNew         claimOutcome = iota // claimed: send it
	claimAlreadySent                     // accepted before: answer OK, send nothing
	claimUncertain                       // may have been accepted: answer "not confirmed"
	claimBusy                            // being sent right now by a live request
)

// newOwner names one attempt of this process.
func (s *Sender) newOwner() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return s.instance + "/" + hex.EncodeToString(b[:])
}

func (s *Sender) setLive(owner string, live bool) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if live {
		s.live[owner] = struct{}{}
	} else {
		delete(s.live, owner)
	}
}

// ownerAlive reports whether the record's owner may still be working on it.
func (s *Sender) ownerAlive(rec *state.Submission) bool {
	inst, _, _ := strings.Cut(rec.Owner, "/")
	if inst == s.instance {
		s.liveMu.Lock()
		defer s.liveMu.Unlock()
		_, ok := s.live[rec.Owner]
		return ok
	}
	if s.opts.SoleInstance {
		return false
	}
	grace := s.opts.InFlightGrace
	if rec.Phase == state.SubmissionData {
		// A live owner may wait this long for the answer to the dot.
		grace += max(smtp.DataTimeout, s.opts.SMTPTimeout)
	}
	return s.now().Sub(rec.Updated) < grace
}

// expires is the retention end of a record written now (wall clock: the
// engines compare it with theirs).
func (s *Sender) expires() time.Time { return time.Now().Add(s.opts.ClientIDTTL) }

// claim decides what to do with a message and, for claimNew, returns the
// record it wrote, owned by a live attempt of this process (the caller
// ends it with s.setLive(rec.Owner, false)). For claimAlreadySent it
// returns the record found.
func (s *Sender) claim(ctx context.Context, user, deviceID, key, clientID string) (*state.Submission, claimOutcome, error) {
	for range casRetries {
		rec, err := s.store.GetSubmission(ctx, user, key)
		var expect uint64
		switch {
		case errors.Is(err, state.ErrNotFound):
			if clientID != "" {
				if out, ok, err := s.legacyClientID(ctx, user, deviceID, clientID); err != nil || ok {
					return nil, out, err
				}
			}
		case err != nil:
			return nil, 0, fmt.Errorf("submission record: %w", err)
		default:
			switch rec.Phase {
			case state.SubmissionAccepted, state.SubmissionDone:
				return rec, claimAlreadySent, nil
			case state.SubmissionClaimed:
				if s.ownerAlive(rec) {
					return nil, claimBusy, nil
				}
				// Its owner died before the final dot: nothing went out.
				expect = rec.Rev
			default: // data, or a phase this version does not know
				if s.ownerAlive(rec) {
					return nil, claimBusy, nil
				}
				return rec, claimUncertain, nil
			}
		}
		owner := s.newOwner()
		s.setLive(owner, true)
		n, err := s.store.PutSubmission(ctx, user, &state.Submission{
			Key: key, Device: deviceID, Phase: state.SubmissionClaimed, Owner: owner,
			Updated: s.now(), Expires: s.expires(),
		}, expect)
		if err != nil {
			s.setLive(owner, false)
			if errors.Is(err, state.ErrConflict) {
				continue
			}
			return nil, 0, fmt.Errorf("submission record: %w", err)
		}
		return n, claimNew, nil
	}
	return nil, claimBusy, nil
}

// legacyClientID reads the previous version's marker for a ClientId.
func (s *Sender) legacyClientID(ctx context.Context, user, deviceID, clientID string) (claimOutcome, bool, error) {
	got, err := s.store.SnapshotGet(ctx, user, deviceID, legacyClientIDCollection, []string{clientID})
	if err != nil {
		return 0, false, fmt.Errorf("client ids: %w", err)
	}
	st, sec, ok := strings.Cut(got[clientID], ":")
	n, err := strconv.ParseInt(sec, 10, 64)
	if !ok || err != nil || s.now().Sub(time.Unix(n, 0)) > s.opts.ClientIDTTL {
		return 0, false, nil
	}
	switch st {
	case "sent":
		return claimAlreadySent, true, nil
	case "inflight":
		// The previous version wrote it before sending and could not
		// tell a crash before the dot from one after it.
		return claimUncertain, true, nil
	}
	return 0, false, nil
}

// advance moves the record to phase under its Rev, keeping ownership.
func (s *Sender) advance(ctx context.Context, user string, rec *state.Submission, phase state.SubmissionPhase, sentCopy []byte) (*state.Submission, error) {
	n := *rec
	n.Phase, n.Updated, n.Expires, n.SentCopy = phase, s.now(), s.expires(), sentCopy
	out, err := s.store.PutSubmission(ctx, user, &n, rec.Rev)
	if err != nil {
		return nil, fmt.Errorf("submission record: %w", err)
	}
	return out, nil
}

// finishSentCopy completes a Sent copy a dead owner left owed: take the
// record over (so two repairers never both append), append, mark done.
func (s *Sender) finishSentCopy(ctx context.Context, acct *login.Account, rec *state.Submission) error {
	if rec.Phase != state.SubmissionAccepted || rec.SentCopy == nil || s.ownerAlive(rec) {
		return nil
	}
	user := acct.Address()
	owner := s.newOwner()
	s.setLive(owner, true)
	defer s.setLive(owner, false)
	mine := *rec
	mine.Owner = owner
	taken, err := s.advance(ctx, user, &mine, state.SubmissionAccepted, rec.SentCopy)
	if err != nil {
		if errors.Is(err, state.ErrConflict) {
			return nil // another request repairs it
		}
		return err
	}
	if err := s.saveSentCopy(ctx, acct, taken.SentCopy); err != nil {
		return fmt.Errorf("sent copy: %w", err)
	}
	if _, err := s.advance(ctx, user, taken, state.SubmissionDone, nil); err != nil {
		return err
	}
	s.log.Info("sent copy written after an interrupted send", "user", user, "device", rec.Device, "submission", rec.Key)
	return nil
}

// ResumeSentCopies repairs a user's owed Sent copies in the background,
// at most once per ResumeEvery per user and process: called for every
// authenticated request, so it must cost nothing most of the time.
func (s *Sender) ResumeSentCopies(a activesync.Account) {
	acct, err := login.Of(a)
	if err != nil {
		return
	}
	user := acct.Address()
	now := s.now()
	s.liveMu.Lock()
	if last, ok := s.resumed[user]; ok && now.Sub(last) < s.opts.ResumeEvery {
		s.liveMu.Unlock()
		return
	}
	s.resumed[user] = now
	s.liveMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s.repairOwed(ctx, acct)
	}()
}

// repairOwed writes every Sent copy of the user that a dead owner left
// owed.
func (s *Sender) repairOwed(ctx context.Context, acct *login.Account) {
	user := acct.Address()
	recs, err := s.store.ListSubmissions(ctx, user)
	if err != nil {
		s.log.Warn("could not list owed Sent copies", "user", user, "err", err)
		return
	}
	for _, rec := range recs {
		if err := s.finishSentCopy(ctx, acct, rec); err != nil {
			s.log.Error("owed Sent copy not written; retried at a later request", "user", user,
				"device", rec.Device, "submission", rec.Key, "err", err)
		}
	}
}
