package activesync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

type harness struct {
	srv     *activesync.Server
	backend *fakeBackend
	url     string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	b := newFakeBackend()
	s := &activesync.Server{
		Backend:         b,
		PublicURL:       "https://mail.example.com",
		MaxRequestBytes: 1 << 20,
		Limiter:         activesync.NewLoginLimiter(5, 50*time.Millisecond),
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &harness{srv: s, backend: b, url: ts.URL}
}

func (h *harness) device(version string) *client.Client {
	return &client.Client{BaseURL: h.url, User: "alice@example.com", Password: "secret",
		DeviceID: "dev1", DeviceType: "iPhone", Version: version, UserAgent: "Apple-iPhone/1"}
}

func httpCode(err error) int {
	var he *client.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return 0
}

func TestOptions(t *testing.T) {
	h := newHarness(t)
	c := h.device("16.1")
	hdr, err := c.Options(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("MS-ASProtocolVersions"); got != "12.0,12.1,14.0,14.1,16.0,16.1" {
		t.Errorf("MS-ASProtocolVersions = %q", got)
	}
	cmds := hdr.Get("MS-ASProtocolCommands")
	for _, want := range []string{"Provision", "Settings"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("MS-ASProtocolCommands %q lacks %s", cmds, want)
		}
	}
	if strings.Contains(cmds, "Search") {
		t.Errorf("MS-ASProtocolCommands %q announces an unbuilt command", cmds)
	}
	c.Password = "wrong"
	if _, err := c.Options(context.Background()); httpCode(err) != 401 {
		t.Errorf("OPTIONS with a wrong password: %v, want 401", err)
	}
}

func TestUnauthorizedHasChallenge(t *testing.T) {
	h := newHarness(t)
	res, err := http.Post(h.url+"/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=x&DeviceId=d&DeviceType=t", "application/vnd.ms-sync.wbxml", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("got %d %q, want 401 with a Basic challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	for _, user := range []string{"nobody@example.com", "alice@example.com"} {
		c := h.device("14.1")
		c.User, c.Password = user, "bad"
		_, err := c.Do(context.Background(), "Provision", client.ProvisionRequest("", nil))
		var he *client.HTTPError
		if !errors.As(err, &he) || he.Code != 401 || strings.Contains(strings.ToLower(he.Body), "user") {
			t.Errorf("%s: %v, want a 401 that does not say which part was wrong", user, err)
		}
	}
}

func TestLoginFailuresAreSlowedDown(t *testing.T) {
	l := activesync.NewLoginLimiter(5, time.Minute)
	now := time.Unix(1000, 0)
	for i := range 9 {
		l.Failed("alice@example.com", netipAddr("192.0.2.1"), now)
		if i < 4 && l.Delay("alice@example.com", netipAddr("192.0.2.1"), now) != 0 {
			t.Fatalf("delayed after only %d failures", i+1)
		}
	}
	d9 := l.Delay("alice@example.com", netipAddr("192.0.2.1"), now)
	if d9 < 8*time.Second {
		t.Fatalf("10th attempt after 9 failures waits %v, want ≥ 8s", d9)
	}
	// The guesser's address waits, not the user's other addresses.
	if d := l.Delay("alice@example.com", netipAddr("198.51.100.7"), now); d != 0 {
		t.Fatalf("the user from another address waits %v after a stranger's 9 failures", d)
	}
	// The back-off counts from the last failure: waiting it out is enough.
	if d := l.Delay("alice@example.com", netipAddr("192.0.2.1"), now.Add(d9)); d != 0 {
		t.Fatalf("after waiting out the back-off the attempt still waits %v", d)
	}
	if d := l.Delay("alice@example.com", netipAddr("192.0.2.1"), now.Add(d9/2)); d != d9-d9/2 {
		t.Fatalf("half-way through the back-off the attempt waits %v, want the rest (%v)", d, d9-d9/2)
	}
	if d := l.Delay("bob@example.com", netipAddr("198.51.100.7"), now); d != 0 {
		t.Fatalf("another user from another address waits %v", d)
	}
	l.Succeeded("alice@example.com", netipAddr("192.0.2.1"))
	if d := l.Delay("alice@example.com", netipAddr("192.0.2.1"), now); d != 0 {
		t.Fatalf("after a success the user still waits %v", d)
	}
	// Forgotten after the window.
	l.Failed("carol@example.com", netipAddr("192.0.2.9"), now)
	for range 10 {
		l.Failed("carol@example.com", netipAddr("192.0.2.9"), now)
	}
	if d := l.Delay("carol@example.com", netipAddr("192.0.2.9"), now.Add(time.Hour)); d != 0 {
		t.Fatalf("failures an hour old still cost %v", d)
	}
}

// Guessing spread over many addresses reaches the higher per-user
// ceiling: then devices never seen before wait, but a device that has
// logged in before does not.
func TestLoginUserCeilingSparesKnownDevices(t *testing.T) {
	l := activesync.NewLoginLimiter(5, time.Minute)
	if l.UserAllowance <= l.Allowance {
		t.Fatalf("per-user ceiling %d is not above the per-address allowance %d", l.UserAllowance, l.Allowance)
	}
	now := time.Now()
	for i := range l.UserAllowance + 3 {
		l.Failed("dave@example.com", netipAddr(fmt.Sprintf("203.0.113.%d", i%200)), now)
	}
	fresh := netipAddr("198.51.100.20")
	if d := l.Delay("dave@example.com", fresh, now); d == 0 {
		t.Fatal("past the per-user ceiling a new device from a new address is not slowed down")
	}
	asked := 0
	d, err := l.Begin(context.Background(), "dave@example.com", fresh, func() bool { asked++; return true })
	if err != nil || d != 0 || asked != 1 {
		t.Fatalf("known device past the per-user ceiling: waits %v, %v (asked %d)", d, err, asked)
	}
	l.Succeeded("dave@example.com", fresh)
	// Nobody is asked about the device when it does not matter.
	asked = 0
	if _, err := l.Begin(context.Background(), "erin@example.com", fresh, func() bool { asked++; return true }); err != nil || asked != 0 {
		t.Fatalf("Begin with no back-off: %v, asked %d", err, asked)
	}
}

// Concurrent attempts are counted as they start, not when their
// passwords have been checked: 500 at once from one address get the few
// free tries, a few delayed ones and refusals, and another address is
// not affected.
func TestLoginConcurrentAttemptsAreCounted(t *testing.T) {
	l := activesync.NewLoginLimiter(5, 30*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a delayed attempt returns at once instead of sleeping
	mallory := netipAddr("203.0.113.66")
	var free, delayed, refused int
	for range 500 {
		d, err := l.Begin(ctx, "frank@example.com", mallory, nil)
		switch {
		case errors.Is(err, activesync.ErrThrottled):
			refused++
		case d == 0 && err == nil:
			free++
		default:
			delayed++
		}
	}
	if free != 5 || delayed > 10 || refused < 480 {
		t.Fatalf("500 concurrent attempts: %d free, %d delayed, %d refused; want 5 free and the rest mostly refused", free, delayed, refused)
	}
	if d, err := l.Begin(context.Background(), "frank@example.com", netipAddr("198.51.100.1"), nil); d != 0 || err != nil {
		t.Fatalf("the user from another address: waits %v, %v", d, err)
	}
}

func TestProvisioningGate(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	fsync := wbxml.New(wbxml.FolderHierarchy, "FolderSync")
	fsync.AddText(wbxml.FolderHierarchy, "SyncKey", "0")

	// 12.1: HTTP 449.
	c12 := h.device("12.1")
	c12.DeviceID = "dev12"
	if _, err := c12.Do(ctx, "FolderSync", fsync); httpCode(err) != 449 {
		t.Fatalf("12.1 FolderSync before Provision: %v, want 449", err)
	}
	// 14.1: status 142 in the command's own root element.
	c := h.device("14.1")
	r, err := c.Do(ctx, "FolderSync", fsync)
	if err != nil || !r.Doc.Is(wbxml.FolderHierarchy, "FolderSync") || r.Status() != "142" {
		t.Fatalf("14.1 FolderSync before Provision: %v %v, want FolderSync Status 142", err, r)
	}
	doc, err := c.Provision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChildText(wbxml.Provision, "DevicePasswordEnabled") != "0" {
		t.Errorf("default policy requires a password: %s", doc.XML())
	}
	if d := h.backend.device("alice@example.com", "dev1"); d.PolicyKey != c.PolicyKey || d.PolicyKey == 0 {
		t.Fatalf("stored key %d, device key %d", d.PolicyKey, c.PolicyKey)
	}
	// Provisioned: the gate opens (FolderSync is not built in the front
	// alone, so the answer is 501 rather than a provisioning status).
	if _, err := c.Do(ctx, "FolderSync", fsync); httpCode(err) != 501 {
		t.Fatalf("provisioned FolderSync on a front without FolderSync: %v, want 501", err)
	}
	// A wrong key: 144.
	good := c.PolicyKey
	c.PolicyKey = good + 1
	if r, err := c.Do(ctx, "FolderSync", fsync); err != nil || r.Status() != "144" {
		t.Fatalf("wrong policy key: %v %v, want 144", err, r)
	}
	c.PolicyKey = good
	// A changed policy: 143, then provisioning again restores access.
	h.srv.Policy.RequirePassword = true
	if r, err := c.Do(ctx, "FolderSync", fsync); err != nil || r.Status() != "143" {
		t.Fatalf("after a policy change: %v %v, want 143", err, r)
	}
	doc, err = c.Provision(ctx)
	if err != nil || doc.ChildText(wbxml.Provision, "DevicePasswordEnabled") != "1" {
		t.Fatalf("re-provision: %v %v", err, doc)
	}
	if _, err := c.Do(ctx, "FolderSync", fsync); httpCode(err) != 501 {
		t.Fatalf("after re-provisioning: %v, want the gate open", err)
	}
}

func TestProvisionAckRetryAndWrongKey(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	c := h.device("14.0")
	r, err := c.Do(ctx, "Provision", client.ProvisionRequest("", nil))
	if err != nil {
		t.Fatal(err)
	}
	temp := r.Doc.Child(wbxml.Provision, "Policies").Child(wbxml.Provision, "Policy").ChildText(wbxml.Provision, "PolicyKey")
	finalOf := func() string {
		r, err := c.Do(ctx, "Provision", client.ProvisionRequest(temp, nil))
		if err != nil {
			t.Fatal(err)
		}
		pol := r.Doc.Child(wbxml.Provision, "Policies").Child(wbxml.Provision, "Policy")
		if pol.ChildText(wbxml.Provision, "Status") != "1" {
			t.Fatalf("ack: %s", r.Doc.XML())
		}
		return pol.ChildText(wbxml.Provision, "PolicyKey")
	}
	f1, f2 := finalOf(), finalOf()
	if f1 == "" || f1 != f2 || f1 == temp {
		t.Fatalf("final keys %q then %q (temporary %q): a resent ack must get the same final key", f1, f2, temp)
	}
	r, err = c.Do(ctx, "Provision", client.ProvisionRequest("12345", nil))
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Doc.Child(wbxml.Provision, "Policies").Child(wbxml.Provision, "Policy").ChildText(wbxml.Provision, "Status"); st != "5" {
		t.Fatalf("ack of an unknown key: policy status %q, want 5", st)
	}
}

func TestProvisionStoresDeviceInformation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	c := h.device("16.1")
	r, err := c.Do(ctx, "Provision", client.ProvisionRequest("", map[string]string{"Model": "iPhone15,2", "OS": "iOS 17.1"}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Doc.Child(wbxml.Settings, "DeviceInformation").ChildText(wbxml.Settings, "Status") != "1" {
		t.Errorf("no DeviceInformation status in %s", r.Doc.XML())
	}
	if d := h.backend.device("alice@example.com", "dev1"); d.Info["Model"] != "iPhone15,2" || d.Type != "iPhone" || d.UserAgent != "Apple-iPhone/1" {
		t.Errorf("device record %+v", d)
	}
}

func TestRemoteWipe(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	c := h.device("14.1")
	if _, err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	h.backend.setWipe("alice@example.com", "dev1")
	fsync := wbxml.New(wbxml.FolderHierarchy, "FolderSync")
	fsync.AddText(wbxml.FolderHierarchy, "SyncKey", "0")
	if r, err := c.Do(ctx, "FolderSync", fsync); err != nil || r.Status() != "140" {
		t.Fatalf("FolderSync of a device to wipe: %v %v, want 140", err, r)
	}
	if _, err := c.Provision(ctx); !errors.Is(err, client.ErrWipe) {
		t.Fatalf("Provision of a device to wipe: %v, want a RemoteWipe directive", err)
	}
	if d := h.backend.device("alice@example.com", "dev1"); d.Wipe != activesync.WipeSent {
		t.Fatalf("wipe state %v after the directive, want sent", d.Wipe)
	}
	r, err := c.AckWipe(ctx, 1)
	if err != nil || r.Status() != "1" {
		t.Fatalf("wipe ack: %v %v", err, r)
	}
	if d := h.backend.device("alice@example.com", "dev1"); d.Wipe != activesync.WipeDone || d.WipeAcked.IsZero() {
		t.Fatalf("wipe state %v after the ack, want done with a time", d.Wipe)
	}
	// A wiped device stays wiped until an admin removes it.
	if _, err := c.Provision(ctx); !errors.Is(err, client.ErrWipe) {
		t.Fatalf("Provision after the wipe: %v, want the directive again", err)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	for _, ver := range []string{"12.1", "14.0", "14.1", "16.1"} {
		t.Run(ver, func(t *testing.T) {
			h := newHarness(t)
			c := h.device(ver)
			req := wbxml.New(wbxml.Settings, "Settings")
			req.Add(wbxml.Settings, "Oof").Add(wbxml.Settings, "Get").AddText(wbxml.Settings, "BodyType", "Text")
			set := req.Add(wbxml.Settings, "DeviceInformation").Add(wbxml.Settings, "Set")
			set.AddText(wbxml.Settings, "Model", "Pixel 8")
			req.Add(wbxml.Settings, "UserInformation").Add(wbxml.Settings, "Get")
			// Settings is allowed before Provision: iOS sends it first.
			r, err := c.Do(ctx, "Settings", req)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status() != "1" {
				t.Fatalf("status %q: %s", r.Status(), r.Doc.XML())
			}
			if r.Doc.Child(wbxml.Settings, "Oof").Child(wbxml.Settings, "Get").ChildText(wbxml.Settings, "OofState") != "0" {
				t.Errorf("Oof: %s", r.Doc.XML())
			}
			get := r.Doc.Child(wbxml.Settings, "UserInformation").Child(wbxml.Settings, "Get")
			var addr string
			if ver >= "14.1" {
				addr = get.Child(wbxml.Settings, "Accounts").Child(wbxml.Settings, "Account").Child(wbxml.Settings, "EmailAddresses").ChildText(wbxml.Settings, "PrimarySmtpAddress")
			} else {
				addr = get.Child(wbxml.Settings, "EmailAddresses").ChildText(wbxml.Settings, "SMTPAddress")
			}
			if addr != "alice@example.com" {
				t.Errorf("UserInformation address %q: %s", addr, r.Doc.XML())
			}
			if d := h.backend.device("alice@example.com", "dev1"); d.Info["Model"] != "Pixel 8" {
				t.Errorf("DeviceInformation not stored: %+v", d.Info)
			}
			oofSet := wbxml.New(wbxml.Settings, "Settings")
			oofSet.Add(wbxml.Settings, "Oof").Add(wbxml.Settings, "Set").AddText(wbxml.Settings, "OofState", "1")
			r, err = c.Do(ctx, "Settings", oofSet)
			if err != nil || r.Doc.Child(wbxml.Settings, "Oof").ChildText(wbxml.Settings, "Status") == "1" {
				t.Errorf("Oof Set must be refused: %v %v", err, r)
			}
		})
	}
}

func TestBase64Query(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	c := h.device("14.1")
	c.Base64Query = true
	c.DeviceID = "B64DEVICE"
	if _, err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if d := h.backend.device("alice@example.com", "B64DEVICE"); d == nil || d.PolicyKey != c.PolicyKey || d.Type != "iPhone" {
		t.Fatalf("device through the base64 form: %+v", d)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t)
	post := func(query, version string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", h.url+"/Microsoft-Server-ActiveSync?"+query, bytes.NewReader(body))
		req.SetBasicAuth("alice@example.com", "secret")
		req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
		if version != "" {
			req.Header.Set("MS-ASProtocolVersion", version)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	q := "Cmd=Provision&User=alice&DeviceId=dev1&DeviceType=iPhone"
	garbage := []byte{0x03, 0x01, 0x6a, 0x00, 0x00, 0x0e, 0x45, 0x7f, 0x7f}
	cases := []struct {
		name, query, version string
		body                 []byte
		wantHTTP             int
		wantStatus           string
	}{
		{"no query", "", "14.1", nil, 400, ""},
		{"no device", "Cmd=Provision&User=a&DeviceType=x", "14.1", nil, 400, ""},
		{"device id with slash", "Cmd=Provision&User=a&DeviceId=a/b&DeviceType=x", "14.1", nil, 400, ""},
		{"bad version", q, "99.0", nil, 400, ""},
		{"unknown command", "Cmd=Frobnicate&User=a&DeviceId=d&DeviceType=x", "14.1", nil, 501, ""},
		{"garbage base64", "!!!!", "14.1", nil, 400, ""},
		{"malformed wbxml 12.1", q, "12.1", garbage, 400, ""},
		{"malformed wbxml 14.1", q, "14.1", garbage, 200, "102"},
		{"wrong root 14.1", q, "14.1", mustEncode(t, wbxml.New(wbxml.AirSync, "Sync")), 200, "101"},
		{"empty body 14.1", q, "14.1", nil, 200, "101"},
		{"too large", q, "14.1", make([]byte, 2<<20), 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := post(tc.query, tc.version, tc.body)
			if res.StatusCode != tc.wantHTTP {
				t.Fatalf("HTTP %d, want %d (%s)", res.StatusCode, tc.wantHTTP, body)
			}
			if tc.wantStatus != "" {
				doc, err := wbxml.Decode(body, wbxml.DefaultLimits)
				if err != nil || doc.ChildText(wbxml.Provision, "Status") != tc.wantStatus {
					t.Fatalf("status doc %v %v, want Status %s", doc, err, tc.wantStatus)
				}
			}
		})
	}
	if d := h.backend.device("alice@example.com", "dev1"); d != nil && d.PolicyKey != 0 {
		t.Errorf("bad requests changed provisioning state: %+v", d)
	}
	// The server is still up and well.
	if _, err := h.device("14.1").Provision(context.Background()); err != nil {
		t.Fatalf("after bad requests: %v", err)
	}
}

func mustEncode(t *testing.T, el *wbxml.Element) []byte {
	t.Helper()
	b, err := wbxml.Encode(el)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPanicIsContained(t *testing.T) {
	h := newHarness(t)
	h.backend.panicOn = "boom"
	c := h.device("14.1")
	c.DeviceID = "boom"
	if _, err := c.Provision(context.Background()); httpCode(err) != 500 {
		t.Fatalf("panicking backend: %v, want 500", err)
	}
	if _, err := h.device("14.1").Provision(context.Background()); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
}

func TestUnavailableBackend(t *testing.T) {
	h := newHarness(t)
	h.backend.down = true
	_, err := h.device("14.1").Provision(context.Background())
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Code != 503 {
		t.Fatalf("backend down: %v, want 503", err)
	}
}

func TestLongBackoffIsRefusedNotSlept(t *testing.T) {
	l := activesync.NewLoginLimiter(2, 10*time.Minute)
	for range 12 {
		l.Failed("mallory@example.com", netipAddr("203.0.113.5"), time.Now())
	}
	d, err := l.Wait(context.Background(), "mallory@example.com", netipAddr("203.0.113.5"))
	if !errors.Is(err, activesync.ErrThrottled) || d < time.Minute {
		t.Fatalf("Wait after 12 failures = %v, %v; want ErrThrottled with the remaining back-off", d, err)
	}
}
