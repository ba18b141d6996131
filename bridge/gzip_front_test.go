package bridge

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// TestGzipSendMailThroughFront: issue 11 item 2. A 12.1 raw-MIME SendMail
// and a 14.1 WBXML one, both with Content-Encoding: gzip, reach the real
// SMTP sink once each (before, the gzip bytes were taken for the message:
// HTTP 500 and nothing sent).
func TestGzipSendMailThroughFront(t *testing.T) {
	sinkAddr, maildir := testenv.SMTP(t)
	e := newFrontSendEnv(t, sinkAddr)
	srv := &activesync.Server{Backend: e.bridge(t), MaxRequestBytes: 1 << 20}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	for _, version := range []string{"12.1", "14.1"} {
		t.Run(version, func(t *testing.T) {
			ctx := context.Background()
			c := &client.Client{BaseURL: ts.URL, User: e.acct.Address(), Password: "devpass",
				DeviceID: "gzip" + strings.ReplaceAll(version, ".", ""), Version: version, Gzip: true}
			if _, err := c.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			marker := "gzip-" + version + "-" + time.Now().Format("150405.000000000")
			mimeMsg := []byte("From: " + e.acct.Address() + "\r\nTo: bob@example.test\r\nSubject: " + marker + "\r\n\r\n" + strings.Repeat("Grüße aus dem Zug.\r\n", 500) + "\r\n")
			var err error
			if version == "12.1" {
				_, err = c.DoRaw(ctx, "SendMail", client.Params{}, mimeMsg, "message/rfc822")
			} else {
				req := wbxml.New(wbxml.ComposeMail, "SendMail")
				req.AddText(wbxml.ComposeMail, "ClientId", marker)
				req.AddOpaque(wbxml.ComposeMail, "Mime", mimeMsg)
				var res *client.Response
				res, err = c.Do(ctx, "SendMail", req)
				if err == nil && len(res.Body) != 0 {
					t.Errorf("14.1 gzip SendMail answered Status %s", res.Status())
				}
			}
			if err != nil {
				t.Fatalf("gzip SendMail: %v", err)
			}
			found := sinkMessages(t, maildir, marker)
			if len(found) != 1 {
				t.Fatalf("sink holds %d copies, want 1", len(found))
			}
			if !strings.Contains(found[0], "Grüße aus dem Zug.\nGrüße") {
				t.Errorf("the sent message is not the decompressed one:\n%.300s", found[0])
			}
		})
	}
}
