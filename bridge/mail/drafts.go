package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// Drafts at 16.x (MS-ASCMD 2.2.3.7.2; 3.1.5.4: clients do not sync Drafts
// before 16.0). A Sync Add in the Drafts folder is APPENDed there with
// \Draft (and \Seen: one's own draft is not unread mail); a Change that
// carries content is a new version: the new message is APPENDed and the
// old one expunged, and because IMAP gives the new version another UID
// (so another ServerId), the device is not told it holds the new one: its
// next Sync brings the Delete of the old and the Add of the new. Delete
// goes through the ordinary path.
//
// A resent Add (the device did not get our answer and sends the same
// request again) must not store a second copy: the ClientIds of recent
// draft Adds and the UIDs they became are kept in the collection's Meta
// ("drafts": "clientid:uid,...", the newest maxDraftBook), and an Add
// whose ClientId is there, with its message still upstream, is answered
// with that ServerId again.

const (
	metaDrafts   = "drafts"
	maxDraftBook = 32
)

// draftFlags are set on every stored draft (RFC 3501 2.3.2 \Draft).
var draftFlags = []string{`\Draft`, `\Seen`}

// draftsHere reports whether this collection stores drafts: 16.0+ and the
// mailbox is the user's Drafts (special-use).
func (j *syncJob) draftsHere(ctx context.Context, s *imap.Session) (bool, error) {
	if j.c.Version < activesync.V160 {
		return false, nil
	}
	folders, err := s.ListFolders(ctx)
	if err != nil {
		return false, err
	}
	for _, f := range folders {
		if f.Name == j.mailbox {
			return f.Special == imap.SpecialDrafts, nil
		}
	}
	return false, nil
}

// draftEntry is one ClientId the device gave a draft and the UID it got.
type draftEntry struct {
	clientID string
	uid      uint32
}

func parseDraftBook(s string) []draftEntry {
	var out []draftEntry
	for _, f := range strings.Split(s, ",") {
		c, u, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		id, err1 := url.QueryUnescape(c)
		uid, err2 := strconv.ParseUint(u, 10, 32)
		if err1 == nil && err2 == nil && uid > 0 {
			out = append(out, draftEntry{clientID: id, uid: uint32(uid)})
		}
	}
	return out
}

func encodeDraftBook(book []draftEntry) string {
	if len(book) > maxDraftBook {
		book = book[len(book)-maxDraftBook:]
	}
	parts := make([]string, 0, len(book))
	for _, e := range book {
		parts = append(parts, url.QueryEscape(e.clientID)+":"+strconv.FormatUint(uint64(e.uid), 10))
	}
	return strings.Join(parts, ",")
}

// addDraft stores a device's new draft and answers its Add.
func (j *syncJob) addDraft(ctx context.Context, s *imap.Session, cmd activesync.SyncCommand, mm *mailMeta, res *activesync.SyncResult, applied *state.Delta) error {
	answer := func(serverID string, status int) {
		res.Responses = append(res.Responses, activesync.SyncItemResponse{Kind: "Add", ClientID: cmd.ClientID, ServerID: serverID, Status: status})
	}
	book := parseDraftBook(mm.drafts)
	if cmd.ClientID != "" {
		for _, e := range book {
			if e.clientID != cmd.ClientID {
				continue
			}
			infos, err := s.FetchFlags(ctx, imap.UIDs(e.uid), 0)
			if err != nil {
				return err
			}
			if len(infos) > 0 {
				// A resent Add: the draft is already stored.
				id := mailid.Item(j.c.CollectionID, e.uid)
				applied.Set[id] = flagSignature(infos[0].Flags)
				answer(id, activesync.SyncStatusOK)
				return nil
			}
		}
	}
	uid, err := j.storeDraft(ctx, s, cmd)
	if err != nil {
		if !errors.Is(err, errDraftRefused) {
			return err
		}
		j.m.log.Warn("sync: draft refused", "user", j.user, "device", j.deviceID, "folder", j.mailbox, "err", err)
		answer("", activesync.SyncStatusConversionError)
		return nil
	}
	id := mailid.Item(j.c.CollectionID, uid)
	infos, err := s.FetchFlags(ctx, imap.UIDs(uid), 0)
	if err != nil {
		return err
	}
	flags := draftFlags
	if len(infos) > 0 {
		flags = infos[0].Flags
	}
	applied.Set[id] = flagSignature(flags)
	if cmd.ClientID != "" {
		mm.drafts = encodeDraftBook(append(book, draftEntry{clientID: cmd.ClientID, uid: uid}))
	}
	j.m.log.Info("sync: draft saved", "user", j.user, "device", j.deviceID, "folder", j.mailbox, "uid", uid)
	answer(id, activesync.SyncStatusOK)
	return nil
}

// replaceDraft stores a new version of a draft and expunges the old one.
// The device learns the new ServerId from its next Sync (Delete + Add).
func (j *syncJob) replaceDraft(ctx context.Context, s *imap.Session, cmd activesync.SyncCommand, oldUID uint32, res *activesync.SyncResult) error {
	if _, err := j.storeDraft(ctx, s, cmd); err != nil {
		if !errors.Is(err, errDraftRefused) {
			return err
		}
		j.m.log.Warn("sync: draft change refused", "user", j.user, "device", j.deviceID, "folder", j.mailbox, "item", cmd.ServerID, "err", err)
		res.Responses = append(res.Responses, activesync.SyncItemResponse{Kind: "Change", ServerID: cmd.ServerID, Status: activesync.SyncStatusConversionError})
		return nil
	}
	// The new version is stored: losing the old one now loses nothing.
	if err := s.Expunge(ctx, imap.UIDs(oldUID)); err != nil && !isServerNo(err) {
		return err
	}
	return nil
}

// errDraftRefused: the draft cannot be stored as sent (Send asked, the
// server refused the APPEND, or it did not say which UID it gave).
var errDraftRefused = errors.New("draft refused")

// storeDraft APPENDs a draft built from cmd's ApplicationData.
func (j *syncJob) storeDraft(ctx context.Context, s *imap.Session, cmd activesync.SyncCommand) (uint32, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	msgID := hex.EncodeToString(rnd[:]) + ".draft@idlebridge"
	now := time.Now()
	raw, err := mailconv.DraftMessage(cmd.Data, j.user, msgID, now)
	if err != nil {
		return 0, errors.Join(errDraftRefused, err)
	}
	uid, err := s.Append(ctx, j.mailbox, draftFlags, now, bytes.NewReader(raw), int64(len(raw)))
	switch {
	case isServerNo(err):
		return 0, errors.Join(errDraftRefused, err)
	case err != nil:
		return 0, err
	case uid == 0:
		// Without UIDPLUS (RFC 4315) the new message cannot be named.
		return 0, errors.Join(errDraftRefused, errors.New("the server did not report the draft's UID (no UIDPLUS)"))
	}
	return uid, nil
}
