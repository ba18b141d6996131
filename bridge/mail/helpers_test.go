package mail

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/imappools"
	"github.com/idlebridge/idlebridge/bridge/login"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/mailrig"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// mailRig is one test user on the real Dovecot with the mail engine in
// front of it, a device ID, and a second IMAP client playing "another
// mail client" of the same user.
type mailRig struct {
	t      testing.TB
	m      *Engine
	store  state.Store
	acct   *login.Account
	device string
	other  *imap.Session
	cfg    imap.Config

	mu       sync.Mutex
	commands map[string]int64 // IMAP commands of the last call per op
	total    int64            // IMAP commands of all calls
}

// The shared set-up is internal/mailrig's; these short names keep the
// tests' call sites.
var (
	testCtx       = mailrig.Context
	embeddedStore = mailrig.EmbeddedStore
	redisStore    = mailrig.RedisStore
	testAccount   = mailrig.Account
	message       = mailrig.Message
	seedMailbox   = mailrig.Seed
)

func newRig(t testing.TB, store state.Store) *mailRig {
	t.Helper()
	return newRigWith(t, store, slog.New(slog.DiscardHandler), Options{})
}

// newRigWith is newRig with the engine's log and options (OnIMAP is the
// rig's own).
func newRigWith(t testing.TB, store state.Store, log *slog.Logger, opts Options) *mailRig {
	t.Helper()
	acct, cfg := testAccount(t)
	r := &mailRig{t: t, store: store, acct: acct, device: "dev1", cfg: cfg, commands: map[string]int64{}}
	up := imappools.New(imappools.Options{CommandTimeout: 2 * time.Minute}, slog.New(slog.DiscardHandler))
	t.Cleanup(up.Close)
	opts.OnIMAP = func(op string, n int64) {
		r.mu.Lock()
		r.commands[op] = n
		r.total += n
		r.mu.Unlock()
	}
	r.m = New(store, up, log, opts)
	r.other = mailrig.Dial(t, cfg)
	return r
}

func (r *mailRig) lastCommands(op string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commands[op]
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

// seed appends n small messages to mailbox.
func (r *mailRig) seed(mailbox string, n int) {
	r.t.Helper()
	seedMailbox(r.t, r.other, mailbox, n)
}

// folderID looks a mailbox's ID up in the folder map, giving every
// listed mailbox an ID first as FolderSync would (the device state is
// untouched).
func (r *mailRig) folderID(mailbox string) string {
	r.t.Helper()
	ctx := testCtx(r.t)
	fm, err := r.m.loadFolderMap(ctx, r.acct.Address())
	if err != nil {
		r.t.Fatal(err)
	}
	if id, ok := fm.ByName[mailbox]; ok {
		return id
	}
	listed, err := r.other.ListFolders(ctx)
	if err != nil {
		r.t.Fatalf("LIST: %v", err)
	}
	if fm, err = foldermap.ReconcileMail(ctx, r.store, r.acct.Address(), listed); err != nil {
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

// drain syncs until MoreAvailable is false and returns the last key and
// every command seen.
func (r *mailRig) drain(folder, key string, o syncOpts) (string, []activesync.SyncItem) {
	r.t.Helper()
	var all []activesync.SyncItem
	for range 1000 {
		res := r.sync(folder, key, o)
		if res.Status != 1 {
			r.t.Fatalf("Sync status %d", res.Status)
		}
		all = append(all, res.Commands...)
		key = res.SyncKey
		if !res.MoreAvailable {
			return key, all
		}
	}
	r.t.Fatal("Sync never finished")
	return "", nil
}

func kinds(items []activesync.SyncItem) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		out[it.Kind]++
	}
	return out
}

func readAllClose(t testing.TB, rc io.ReadCloser) []byte {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// selectOther selects mailbox on the other client.
func (r *mailRig) selectOther(mailbox string) imap.Status {
	r.t.Helper()
	st, err := r.other.Select(testCtx(r.t), mailbox, false)
	if err != nil {
		r.t.Fatalf("Select %s: %v", mailbox, err)
	}
	return st
}

// statusOf is the command Status an error carries (0: none).
func statusOf(err error) int {
	var ae *activesync.Error
	if errors.As(err, &ae) {
		return int(ae.Status)
	}
	return 0
}
