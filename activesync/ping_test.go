package activesync_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

type fakePinger struct {
	*fakeBackend
	mu      sync.Mutex
	got     [][]activesync.PingFolder
	hbs     []time.Duration
	changed []string
}

func (p *fakePinger) Ping(ctx context.Context, acct activesync.Account, dev string, fs []activesync.PingFolder, hb time.Duration,
	done func([]string, error)) (func(), error) {
	p.mu.Lock()
	p.got = append(p.got, fs)
	p.hbs = append(p.hbs, hb)
	ch := p.changed
	p.mu.Unlock()
	for _, f := range fs {
		if f.ID == "unknown" && len(fs) == 1 {
			return nil, activesync.CommandStatus(activesync.PingStatusFolderSync, "no such folder")
		}
	}
	done(ch, nil)
	return func() {}, nil
}

func pingReq(hb string, ids ...string) *wbxml.Element {
	req := wbxml.New(wbxml.Ping, "Ping")
	if hb != "" {
		req.AddText(wbxml.Ping, "HeartbeatInterval", hb)
	}
	if len(ids) > 0 {
		fs := req.Add(wbxml.Ping, "Folders")
		for _, id := range ids {
			f := fs.Add(wbxml.Ping, "Folder")
			f.AddText(wbxml.Ping, "Id", id)
			f.AddText(wbxml.Ping, "Class", "Email")
		}
	}
	return req
}

func TestPing(t *testing.T) {
	ctx := context.Background()
	p := &fakePinger{fakeBackend: newFakeBackend()}
	s := &activesync.Server{Backend: p, MinHeartbeat: 60 * time.Second, MaxHeartbeat: 900 * time.Second, MaxPingFolders: 3}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	c := &client.Client{BaseURL: ts.URL, User: "alice@example.com", Password: "secret", DeviceID: "dev1", Version: "14.1"}
	if _, err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	do := func(body *wbxml.Element) *wbxml.Element {
		t.Helper()
		r, err := c.Do(ctx, "Ping", body)
		if err != nil {
			t.Fatal(err)
		}
		return r.Doc
	}
	// Nothing to reuse yet: status 3.
	if d := do(nil); d.ChildText(wbxml.Ping, "Status") != "3" {
		t.Fatalf("empty first Ping: %s", d.XML())
	}
	if d := do(pingReq("30", "5")); d.ChildText(wbxml.Ping, "Status") != "5" || d.ChildText(wbxml.Ping, "HeartbeatInterval") != "60" {
		t.Fatalf("heartbeat too short: %s", d.XML())
	}
	if d := do(pingReq("3600", "5")); d.ChildText(wbxml.Ping, "Status") != "5" || d.ChildText(wbxml.Ping, "HeartbeatInterval") != "900" {
		t.Fatalf("heartbeat too long: %s", d.XML())
	}
	if d := do(pingReq("470", "1", "2", "3", "4")); d.ChildText(wbxml.Ping, "Status") != "6" || d.ChildText(wbxml.Ping, "MaxFolders") != "3" {
		t.Fatalf("too many folders: %s", d.XML())
	}
	// Heartbeat expired without changes: status 1.
	if d := do(pingReq("470", "5", "7")); d.ChildText(wbxml.Ping, "Status") != "1" {
		t.Fatalf("no changes: %s", d.XML())
	}
	// Changes: status 2 naming exactly the changed folders.
	p.changed = []string{"7"}
	d := do(nil) // reuses folders 5, 7 and 470 s
	if d.ChildText(wbxml.Ping, "Status") != "2" {
		t.Fatalf("changes: %s", d.XML())
	}
	if fs := d.Child(wbxml.Ping, "Folders").All(wbxml.Ping, "Folder"); len(fs) != 1 || fs[0].Content() != "7" {
		t.Fatalf("changed folders: %s", d.XML())
	}
	last := p.got[len(p.got)-1]
	if len(last) != 2 || last[0].ID != "5" || last[1].ID != "7" || p.hbs[len(p.hbs)-1] != 470*time.Second {
		t.Fatalf("empty Ping did not reuse the last folders and heartbeat: %v %v", last, p.hbs)
	}
	// A heartbeat alone keeps the folders.
	do(pingReq("600"))
	if last := p.got[len(p.got)-1]; len(last) != 2 || p.hbs[len(p.hbs)-1] != 600*time.Second {
		t.Fatalf("heartbeat-only Ping: %v %v", last, p.hbs)
	}
	p.changed = nil
	if d := do(pingReq("470", "unknown")); d.ChildText(wbxml.Ping, "Status") != "7" {
		t.Fatalf("unknown folder: %s", d.XML())
	}
}
