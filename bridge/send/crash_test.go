package send

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// crashed is what the fault-injection seam panics with: the send stops
// there as a killed process would (deferred clean-up re-panics, so the
// store keeps what it had).
type crashed struct{ point string }

// crashAt makes the sender "die" at point.
func crashAt(s *Sender, point string) {
	s.crash = func(p string) {
		if p == point {
			panic(crashed{p})
		}
	}
}

// sendCrashing runs one Send that must die at its crash point.
func sendCrashing(t *testing.T, e *sendEnv, dev string, m *activesync.OutgoingMail) {
	t.Helper()
	defer func() {
		if _, ok := recover().(crashed); !ok {
			t.Fatal("the send did not reach its crash point")
		}
	}()
	_ = e.sender.Send(e.ctx, e.acct, dev, m)
}

// restart replaces the sender as a restarted process would have it: same
// store, new instance, nothing live.
func (e *sendEnv) restart(opts Options) {
	opts.SMTPTimeout = 5 * time.Second
	e.sender = New(e.store, DialSessions{}, e.folders, nil, opts)
}

// TestSendCrashPoints kills a send at each point against the real Dovecot
// and an SMTP server, restarts, lets the device retry, and checks the
// outcome: sent exactly once, or the device told "not confirmed" (110)
// and nothing sent again; the Sent folder never has a second copy. The
// same for 14.x (ClientId), 12.x raw MIME (no ClientId) and SmartReply.
func TestSendCrashPoints(t *testing.T) {
	tests := []struct {
		point      string
		wantStatus int // the retry's answer; 0: OK
		wantSMTP   int // messages the server holds after the retry
		wantSent   int // Sent folder copies after the retry
	}{
		// Before the dot nothing went out: the retry sends (the issue's
		// silent loss: today this retry was answered OK and never sent).
		{"claimed", 0, 1, 1},
		// The record says data but the dot never left: the bridge cannot
		// tell, and says so instead of risking a duplicate.
		{"data", 110, 0, 0},
		// Accepted but not recorded: sent once, the device told 110.
		{"sent", 110, 1, 0},
		// Accepted and recorded, Sent copy owed: the retry is OK, nothing
		// is sent again, the copy is written once.
		{"accepted", 0, 1, 1},
	}
	kinds := []string{"14.x", "12.x", "SmartReply", "SmartForward", "14.x-sink"}
	for _, kind := range kinds {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.point, func(t *testing.T) {
				var e *sendEnv
				var serverHolds func() int
				marker := fmt.Sprintf("X-Crash-Test: %s-%s-%d\r\n", kind, tt.point, time.Now().UnixNano())
				if kind == "14.x-sink" {
					// The shared aiosmtpd sink, counted in its Maildir.
					sinkAddr, maildir := testenv.SMTP(t)
					e = newSendEnv(t, sinkAddr)
					serverHolds = func() int { return sinkHolds(maildir, strings.TrimSuffix(marker, "\r\n")) }
				} else {
					e = newSendEnv(t, "")
					serverHolds = func() int { return len(e.smtp.all()) }
				}
				m := &activesync.OutgoingMail{Kind: "SendMail", MIME: []byte(deviceMessage(marker)), SaveInSent: true}
				switch kind {
				case "14.x", "14.x-sink":
					m.ClientID = "cid-" + tt.point
				case "SmartReply", "SmartForward":
					orig, _ := originalWithAttachment()
					id, _ := e.appendOriginal(t, orig)
					m.Kind, m.SourceItemID, m.ClientID = kind, id, "r-"+tt.point
					m.MIME = []byte(marker + replyMessage)
				}
				crashAt(e.sender, tt.point)
				sendCrashing(t, e, "dev1", m)
				e.restart(Options{SoleInstance: true})
				retry := *m
				err := e.sender.Send(e.ctx, e.acct, "dev1", &retry)
				if got := statusOf(err); got != tt.wantStatus || (tt.wantStatus == 0 && err != nil) {
					t.Fatalf("retry: %v (status %d), want status %d", err, got, tt.wantStatus)
				}
				if n := serverHolds(); n != tt.wantSMTP {
					t.Errorf("server holds %d messages, want %d", n, tt.wantSMTP)
				}
				if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != tt.wantSent {
					t.Errorf("Sent holds %d, want %d", len(sent), tt.wantSent)
				}
				// A second retry changes nothing.
				again := *m
				if err := e.sender.Send(e.ctx, e.acct, "dev1", &again); statusOf(err) != tt.wantStatus {
					t.Errorf("second retry: %v", err)
				}
				if n := serverHolds(); n != tt.wantSMTP {
					t.Errorf("after a second retry the server holds %d", n)
				}
				if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != tt.wantSent {
					t.Errorf("after a second retry Sent holds %d", len(sent))
				}
			})
		}
	}
}

// sinkHolds counts the sink's messages carrying header line marker. The
// sink writes a message before it answers the dot, so once the bridge has
// its answer the count is final.
func sinkHolds(maildir, marker string) int {
	n := 0
	files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), marker) {
			n++
		}
	}
	return n
}

// TestSendOwedSentCopyRepairedAtNextRequest: killed after the accept, the
// device never retries; the user's next request writes the copy.
func TestSendOwedSentCopyRepairedAtNextRequest(t *testing.T) {
	e := newSendEnv(t, "")
	m := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "owed", MIME: []byte(deviceMessage("")), SaveInSent: true}
	crashAt(e.sender, "accepted")
	sendCrashing(t, e, "dev1", m)
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 0 {
		t.Fatalf("Sent holds %d before the repair", len(sent))
	}
	e.restart(Options{SoleInstance: true})
	e.sender.repairOwed(e.ctx, e.acct)
	e.sender.repairOwed(e.ctx, e.acct) // twice: still one copy
	sent, _ := e.mailboxMessages(t, "Sent")
	if len(sent) != 1 || headerOf(t, sent[0], "Message-Id") != headerOf(t, e.smtp.all()[0].data, "Message-Id") {
		t.Fatalf("Sent holds %d after the repair", len(sent))
	}
	rec, err := e.store.GetSubmission(e.ctx, e.acct.Address(), submissionKey("dev1", m))
	if err != nil || rec.Phase != state.SubmissionDone || rec.SentCopy != nil {
		t.Fatalf("record after repair: %+v %v", rec, err)
	}
	// Through the request hook too (another message, same path): the
	// bridge calls it for any request of the user but a send, which
	// repairs its own message (bridge's TestDeviceRequestRepairsOwedSentCopy).
	m2 := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "owed2", MIME: []byte(deviceMessage("")), SaveInSent: true}
	crashAt(e.sender, "accepted")
	sendCrashing(t, e, "dev1", m2)
	e.restart(Options{SoleInstance: true})
	e.sender.ResumeSentCopies(e.acct)
	testenv.WaitFor(t, 30*time.Second, "the owed copy written by the request hook", func() bool {
		sent, _ := e.mailboxMessages(t, "Sent")
		return len(sent) == 2
	})
}

// TestSendUncertainAnswer: the server takes the whole message and hangs
// up instead of answering the dot. The device is told 110 and a retry
// sends nothing.
func TestSendUncertainAnswer(t *testing.T) {
	e := newSendEnv(t, "")
	e.smtp.set(func(c *captureSMTP) { c.dropAfterData = true })
	m := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "unsure", MIME: []byte(deviceMessage("")), SaveInSent: true}
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m); statusOf(err) != 110 {
		t.Fatalf("unanswered dot: %v, want status 110", err)
	}
	e.smtp.set(func(c *captureSMTP) { c.dropAfterData = false })
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m); statusOf(err) != 110 {
		t.Fatalf("retry: %v, want status 110", err)
	}
	if n := len(e.smtp.all()); n != 0 {
		t.Fatalf("the retry was sent (%d messages)", n)
	}
}

// TestSendOutlivesTheDevice: a device that hangs up while the server is
// slow does not make the outcome unknown: the exchange finishes, and the
// retry is answered OK without a second copy.
func TestSendOutlivesTheDevice(t *testing.T) {
	e := newSendEnv(t, "")
	ctx, cancel := context.WithCancel(e.ctx)
	e.sender.crash = func(p string) {
		if p == "data" {
			cancel() // the device is gone before the dot
		}
	}
	m := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "gone", MIME: []byte(deviceMessage("")), SaveInSent: true}
	if err := e.sender.Send(ctx, e.acct, "dev1", m); err != nil {
		t.Fatalf("send whose device left: %v", err)
	}
	e.sender.crash = nil
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Fatalf("server holds %d", n)
	}
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 1 {
		t.Fatalf("Sent holds %d", len(sent))
	}
}

// TestSend12xRetryOnce: a 12.x device (no ClientId) posting the same
// message again is not delivered twice, whether or not it has a
// Message-ID; another message is sent.
func TestSend12xRetryOnce(t *testing.T) {
	e := newSendEnv(t, "")
	withID := deviceMessage("Message-ID: <m1@example.test>\r\n")
	for i, raw := range []string{withID, withID, deviceMessage(""), deviceMessage(""), deviceMessage("X-Other: 1\r\n")} {
		if err := e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SendMail", MIME: []byte(raw), SaveInSent: true}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	got := e.smtp.all()
	if len(got) != 3 {
		t.Fatalf("server holds %d messages, want 3", len(got))
	}
	if headerOf(t, got[0].data, "Message-Id") != "<m1@example.test>" {
		t.Error("the device's Message-ID was not kept")
	}
	if sent, _ := e.mailboxMessages(t, "Sent"); len(sent) != 3 {
		t.Errorf("Sent holds %d, want 3", len(sent))
	}
}

// TestSendLiveOwnerIsBusy: while a request of this process is sending a
// message, its retry is told to come back later, and nothing is doubled.
func TestSendLiveOwnerIsBusy(t *testing.T) {
	e := newSendEnv(t, "")
	reached, release := make(chan struct{}), make(chan struct{})
	e.sender.crash = func(p string) {
		if p == "claimed" {
			close(reached)
			<-release
		}
	}
	m := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "busy", MIME: []byte(deviceMessage(""))}
	done := make(chan error, 1)
	go func() { done <- e.sender.Send(e.ctx, e.acct, "dev1", m) }()
	<-reached
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m); !errors.Is(err, activesync.ErrUnavailable) {
		t.Fatalf("concurrent retry: %v, want ErrUnavailable", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Fatalf("server holds %d", n)
	}
}

// TestSendSharedStoreGrace: with a shared store (Redis, several
// instances) another instance's fresh claim is live until InFlightGrace;
// past it, a claim that never reached the dot is taken over and sent.
func TestSendSharedStoreGrace(t *testing.T) {
	e := newSendEnv(t, "")
	client, err := state.OpenRedisClient(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	e.store = state.NewRedisStore(client, state.RedisOptions{OwnClient: true})
	t.Cleanup(func() { _ = e.store.Close() })
	e.restart(Options{})
	m := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "grace", MIME: []byte(deviceMessage(""))}
	crashAt(e.sender, "claimed")
	sendCrashing(t, e, "dev1", m)
	clock := time.Now()
	e.restart(Options{Now: func() time.Time { return clock }})
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m); !errors.Is(err, activesync.ErrUnavailable) {
		t.Fatalf("retry within the grace: %v, want ErrUnavailable", err)
	}
	e.sender.opts.Now = func() time.Time { return clock.Add(2 * time.Minute) }
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m); err != nil {
		t.Fatalf("retry after the grace: %v", err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Fatalf("server holds %d", n)
	}
	// And a data record of a dead instance is "not confirmed".
	m2 := &activesync.OutgoingMail{Kind: "SendMail", ClientID: "grace2", MIME: []byte(deviceMessage(""))}
	crashAt(e.sender, "data")
	sendCrashing(t, e, "dev1", m2)
	// Within the time a live owner may wait for the answer to the dot, it
	// is busy; past it, "not confirmed".
	e.restart(Options{Now: func() time.Time { return clock.Add(4 * time.Minute) }})
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m2); !errors.Is(err, activesync.ErrUnavailable) {
		t.Fatalf("data record 4 min old: %v, want ErrUnavailable", err)
	}
	e.sender.opts.Now = func() time.Time { return clock.Add(15 * time.Minute) }
	if err := e.sender.Send(e.ctx, e.acct, "dev1", m2); statusOf(err) != 110 {
		t.Fatalf("dead instance's data record: %v, want 110", err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Fatalf("server holds %d", n)
	}
}

// TestSendReadsPreviousVersionMarkers: ClientId markers the previous
// version wrote are still honoured after the upgrade.
func TestSendReadsPreviousVersionMarkers(t *testing.T) {
	e := newSendEnv(t, "")
	now := time.Now().Unix()
	_, err := e.store.Commit(e.ctx, e.acct.Address(), "dev1", legacyClientIDCollection, 0, state.CommitRequest{Apply: &state.Delta{Set: map[string]string{
		"old-sent": fmt.Sprintf("sent:%d", now), "old-inflight": fmt.Sprintf("inflight:%d", now),
		"too-old": fmt.Sprintf("sent:%d", now-2*86400),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string) error {
		return e.sender.Send(e.ctx, e.acct, "dev1", &activesync.OutgoingMail{Kind: "SendMail", ClientID: id, MIME: []byte(deviceMessage(""))})
	}
	if err := send("old-sent"); err != nil {
		t.Fatalf("old sent marker: %v", err)
	}
	if err := send("old-inflight"); statusOf(err) != 110 {
		t.Fatalf("old in-flight marker: %v, want 110", err)
	}
	if n := len(e.smtp.all()); n != 0 {
		t.Fatalf("server holds %d", n)
	}
	if err := send("too-old"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.smtp.all()); n != 1 {
		t.Fatalf("an expired marker blocked a send: %d", n)
	}
}
