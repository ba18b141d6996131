package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/internal/testlog"
)

// requestLine waits for the request log line of device dev and command
// cmd among the records from index from on.
func requestLine(t *testing.T, rec *testlog.Recorder, from int, dev, cmd string) testlog.Record {
	t.Helper()
	var got testlog.Record
	testenv.WaitFor(t, 10*time.Second, "the request line of "+cmd, func() bool {
		for _, r := range rec.Records("")[from:] {
			if r.Msg == "request" && r.Attrs["device"] == dev && r.Attrs["cmd"] == cmd {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// A command the bridge does not build (yet) answers 501, which is
// expected traffic: INFO, not ERROR.
func TestNotImplementedLogsInfo(t *testing.T) {
	log, rec := testlog.New()
	e := bridgetest.Start(t, bridgetest.Options{Log: log})
	dev := e.Device(t, "searcher", "14.1")
	// ValidateCert: Search, the command this test used first, is built now.
	_, err := dev.DoRaw(context.Background(), "ValidateCert", client.Params{}, nil, "")
	if he, ok := err.(*client.HTTPError); !ok || he.Code != 501 {
		t.Fatalf("ValidateCert: %v, want HTTP 501", err)
	}
	line := requestLine(t, rec, 0, "searcher", "ValidateCert")
	if line.Level != slog.LevelInfo || line.Attrs["http"] != "501" {
		t.Errorf("request line %v, want INFO with http 501", line)
	}
	for _, r := range rec.Records("") {
		if r.Level >= slog.LevelWarn {
			t.Errorf("logged %v", r)
		}
	}
}

// A client that hangs up mid-request, in the body or while the bridge
// waits on the provider, is logged at INFO with no HTTP code: nothing was
// answered, and it is not the bridge's failure (issue 17 item 7).
func TestClientHangsUpMidRequest(t *testing.T) {
	imapAddr, _ := testenv.IMAP(t)
	proxy := bridgetest.StartProxy(t, imapAddr)
	log, rec := testlog.New()
	e := bridgetest.Start(t, bridgetest.Options{IMAPAddr: proxy.Addr(), Log: log})
	ctx := context.Background()

	t.Run("in the body", func(t *testing.T) {
		dev := e.Device(t, "halfbody", "14.1")
		from := len(rec.Records(""))
		u, _ := url.Parse(e.URL)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /Microsoft-Server-ActiveSync?Cmd=FolderSync&User=%s&DeviceId=halfbody&DeviceType=TestPhone HTTP/1.1\r\n"+
			"Host: %s\r\nAuthorization: Basic %s\r\nMS-ASProtocolVersion: 14.1\r\nX-MS-PolicyKey: %d\r\n"+
			"Content-Type: application/vnd.ms-sync.wbxml\r\nContent-Length: 1000\r\n\r\n\x03\x01\x6a\x00",
			e.User, u.Host, basicAuth(e.User, e.Password), dev.PolicyKey)
		conn.Close()
		checkGone(t, rec, from, "halfbody", "FolderSync")
	})

	t.Run("during a streamed answer", func(t *testing.T) {
		dev, inbox, _ := inboxReady(t, e, "leaver")
		att := bytes.Repeat([]byte("0123456789abcdef"), 12<<20/16)
		raw := []byte("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n" +
			"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n" + string(att) + "\r\n--b--\r\n")
		if _, err := e.IMAP(t).Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(raw), int64(len(raw))); err != nil {
			t.Fatal(err)
		}
		items, _, err := dev.SyncAll(ctx, inbox, client.SyncOptions{Class: "Email"})
		if err != nil || len(items) != 1 {
			t.Fatalf("sync: %v, %d items", err, len(items))
		}
		var ref string
		for _, d := range items {
			ref = d.Child(wbxml.AirSyncBase, "Attachments").Child(wbxml.AirSyncBase, "Attachment").ChildText(wbxml.AirSyncBase, "FileReference")
		}
		for _, multipart := range []bool{false, true} {
			from := len(rec.Records(""))
			req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
			f := req.Add(wbxml.ItemOperations, "Fetch")
			f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
			f.AddText(wbxml.AirSyncBase, "FileReference", ref)
			body, _ := wbxml.Encode(req)
			hreq, _ := http.NewRequest(http.MethodPost, e.URL+"/Microsoft-Server-ActiveSync?Cmd=ItemOperations&User="+e.User+"&DeviceId=leaver&DeviceType=TestPhone", bytes.NewReader(body))
			hreq.SetBasicAuth(e.User, e.Password)
			hreq.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
			hreq.Header.Set("MS-ASProtocolVersion", "14.1")
			hreq.Header.Set("X-MS-PolicyKey", strconv.FormatUint(uint64(dev.PolicyKey), 10))
			if multipart {
				hreq.Header.Set("MS-ASAcceptMultiPart", "T")
			}
			res, err := (&http.Client{Transport: &http.Transport{}}).Do(hreq)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := res.Body.Read(make([]byte, 64)); err != nil {
				t.Fatal(err)
			}
			res.Body.Close() // mid-body: the transport closes the connection
			testenv.WaitFor(t, 20*time.Second, "the end of the stream", func() bool {
				for _, r := range rec.Records("")[from:] {
					if r.Attrs["device"] == "leaver" && r.Msg == "request" {
						return true
					}
				}
				return false
			})
			gone := false
			for _, r := range rec.Records("")[from:] {
				if r.Attrs["device"] != "leaver" {
					continue
				}
				if r.Level >= slog.LevelError {
					t.Errorf("multipart %v: logged %v", multipart, r)
				}
				gone = gone || r.Msg == "client went away during the answer" && r.Level == slog.LevelInfo
			}
			if !gone {
				t.Errorf("multipart %v: no INFO line says the client went away", multipart)
			}
		}
	})

	t.Run("waiting on the provider", func(t *testing.T) {
		dev, inbox, key := inboxReady(t, e, "hangup")
		appendMail(t, e, "while held")
		from := len(rec.Records(""))
		proxy.Hold()
		defer proxy.Release()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := dev.Sync(rctx, inbox, key, client.SyncOptions{WindowSize: 10})
			done <- err
		}()
		testenv.WaitFor(t, 10*time.Second, "the bridge asking the provider", func() bool { return proxy.HeldBytes() > 0 })
		cancel()
		<-done
		checkGone(t, rec, from, "hangup", "Sync")
	})
}

func checkGone(t *testing.T, rec *testlog.Recorder, from int, dev, cmd string) {
	t.Helper()
	line := requestLine(t, rec, from, dev, cmd)
	if line.Level != slog.LevelInfo || line.Attrs["client_gone"] != "true" || line.Attrs["http"] != "" {
		t.Errorf("request line %v, want INFO, client_gone and no http code", line)
	}
	for _, r := range rec.Records("") {
		if r.Attrs["device"] == dev && r.Level >= slog.LevelError {
			t.Errorf("logged %v", r)
		}
	}
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// At debug level each WBXML request and response is traced as an outline:
// command, collection ids, sync keys and statuses, with no subject, body,
// address or password anywhere in the log.
func TestDebugTraceIsRedacted(t *testing.T) {
	ctx := context.Background()
	log, rec := testlog.New()
	e := bridgetest.Start(t, bridgetest.Options{Log: log})
	const subject, body = "Subject-9f3c1e", "Body-77ab20"
	msg := bridgetest.Message(subject, body)
	if _, err := e.IMAP(t).Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	dev, inbox, _ := inboxReady(t, e, "traced")
	sendReq := wbxml.New(wbxml.ComposeMail, "SendMail")
	sendReq.AddText(wbxml.ComposeMail, "ClientId", "trace-1")
	sendReq.AddOpaque(wbxml.ComposeMail, "Mime", []byte("From: "+e.User+"\r\nTo: rcpt-5d1e@example.test\r\nSubject: "+subject+"\r\n\r\n"+body+"\r\n"))
	if _, err := dev.Do(ctx, "SendMail", sendReq); err != nil {
		t.Fatal(err)
	}

	var syncReq, syncResp bool
	for _, r := range rec.Records("trace") {
		if r.Level != slog.LevelDebug || r.Attrs["device"] != "traced" || r.Attrs["user"] != e.User {
			t.Errorf("trace line without its level, user or device: %v", r)
		}
		if r.Attrs["cmd"] != "Sync" {
			continue
		}
		doc := r.Attrs["doc"]
		switch r.Attrs["dir"] {
		case "request":
			syncReq = syncReq || strings.Contains(doc, `CollectionId="`+inbox+`"`) && strings.Contains(doc, `SyncKey="`)
		case "response":
			syncResp = syncResp || strings.Contains(doc, `Status="1"`) && strings.Contains(doc, "ApplicationData[")
		}
	}
	if !syncReq || !syncResp {
		t.Errorf("no Sync request (%v) or response (%v) trace with keys, ids and statuses in %v", syncReq, syncResp, rec.Records("trace"))
	}
	for _, secret := range []string{subject, body, "rcpt-5d1e", e.Password, basicAuth(e.User, e.Password)} {
		if rec.Contains(secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
