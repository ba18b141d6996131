package bridge

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/mailrig"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// mailRig is one test user on the real Dovecot with the bridge's mail
// engine in front of it, a device ID, and a second IMAP client playing
// "another mail client" of the same user: what the hierarchy and push
// tests here need (bridge/mail has the engine's own rig).
type mailRig struct {
	t      testing.TB
	m      *Mail
	store  state.Store
	acct   *Account
	device string
	other  *imap.Session
	cfg    imap.Config
}

// The shared set-up is internal/mailrig's; these short names keep the
// tests' call sites.
var (
	testCtx       = mailrig.Context
	embeddedStore = mailrig.EmbeddedStore
	testAccount   = mailrig.Account
	message       = mailrig.Message
)

func newRig(t testing.TB, store state.Store) *mailRig {
	t.Helper()
	acct, cfg := testAccount(t)
	r := &mailRig{t: t, store: store, acct: acct, device: "dev1", cfg: cfg}
	up := imappools.New(imappools.Options{CommandTimeout: 2 * time.Minute}, slog.New(slog.DiscardHandler))
	t.Cleanup(up.Close)
	r.m = NewMail(store, up, slog.New(slog.DiscardHandler), mail.Options{})
	r.other = mailrig.Dial(t, cfg)
	return r
}

// appendMsg appends with the other client and returns the UID.
func (r *mailRig) appendMsg(mailbox string, raw []byte, date time.Time, flags ...string) uint32 {
	r.t.Helper()
	uid, err := r.other.Append(testCtx(r.t), mailbox, flags, date, bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		r.t.Fatalf("Append: %v", err)
	}
	return uid
}

// folderID looks a mailbox's ID up through a FolderSync of a second
// device (so the rig's device state is untouched).
func (r *mailRig) folderID(mailbox string) string {
	r.t.Helper()
	ctx := testCtx(r.t)
	fm, err := foldermap.Load(ctx, r.store, r.acct.Address())
	if err != nil {
		r.t.Fatal(err)
	}
	if id, ok := fm.ByName[mailbox]; ok {
		return id
	}
	if _, err := r.m.FolderSync(ctx, r.acct, "lookup", "0"); err != nil {
		r.t.Fatalf("FolderSync: %v", err)
	}
	if fm, err = foldermap.Load(ctx, r.store, r.acct.Address()); err != nil {
		r.t.Fatal(err)
	}
	id, ok := fm.ByName[mailbox]
	if !ok {
		r.t.Fatalf("no folder ID for %q", mailbox)
	}
	return id
}

// syncOpts are the Sync parameters of a test request.
type syncOpts struct {
	window   int
	filter   int
	noMoves  bool
	commands []activesync.SyncCommand
	device   string
	maxBytes int64 // SyncCollection.MaxBytes
	notFirst bool  // the answer already holds items: FirstItemFree false
	bodyType int   // BodyPreference Type (default 1, truncated at 2048)
}

func (r *mailRig) sync(folder, key string, o syncOpts) *activesync.SyncResult {
	r.t.Helper()
	res, err := r.trySync(folder, key, o)
	if err != nil {
		r.t.Fatalf("Sync %s key %s: %v", folder, key, err)
	}
	return res
}

func (r *mailRig) trySync(folder, key string, o syncOpts) (*activesync.SyncResult, error) {
	if o.window == 0 {
		o.window = 100
	}
	dev := r.device
	if o.device != "" {
		dev = o.device
	}
	bp := activesync.BodyPreference{Type: 1, TruncationSize: 2048}
	if o.bodyType != 0 {
		bp = activesync.BodyPreference{Type: o.bodyType}
	}
	return r.m.SyncCollection(testCtx(r.t), r.acct, dev, &activesync.SyncCollection{
		Version: activesync.V161, CollectionID: folder, SyncKey: key, GetChanges: key != "0",
		WindowSize: o.window, DeletesAsMoves: !o.noMoves, Commands: o.commands, MaxBytes: o.maxBytes, FirstItemFree: !o.notFirst,
		Options: activesync.SyncOptions{Class: "Email", FilterType: o.filter, MIMETruncation: -1,
			BodyPrefs: []activesync.BodyPreference{bp}},
	})
}

// primed runs key 0 and returns "1".
func (r *mailRig) primed(folder string, o syncOpts) string {
	r.t.Helper()
	res := r.sync(folder, "0", o)
	if res.Status != 1 || res.SyncKey != "1" || len(res.Commands) != 0 {
		r.t.Fatalf("initial Sync: status %d key %q commands %d, want 1, \"1\", 0", res.Status, res.SyncKey, len(res.Commands))
	}
	return res.SyncKey
}
