package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// BenchmarkAttachmentFetch20MB fetches a 20 MiB attachment (base64 in the
// message, as mail carries it) from the test Dovecot through the bridge,
// inline (base64 in the WBXML) and multipart (MS-ASAcceptMultiPart: T),
// alone and beside the item's body. The client discards what it reads, so
// the figures are the bridge's: peak-heap-MB is the largest live heap seen
// during a fetch above the heap before it (sampled every millisecond),
// B/op what the fetch allocated. An attachment held whole would show at
// least 20 MB in both.
func BenchmarkAttachmentFetch20MB(b *testing.B) {
	ctx := context.Background()
	e := bridgetest.Start(b, bridgetest.Options{})
	const size = 20 << 20
	att := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range att {
		att[i] = byte(rng.Uint32())
	}
	var msg bytes.Buffer
	msg.WriteString("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: big\r\nMessage-ID: <big@example.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Disposition: attachment; filename=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(att)
	for len(enc) > 76 {
		msg.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	msg.WriteString(enc + "\r\n--b--\r\n")
	if _, err := e.IMAP(b).Append(ctx, "INBOX", nil, time.Now(), bytes.NewReader(msg.Bytes()), int64(msg.Len())); err != nil {
		b.Fatal(err)
	}
	att, enc = nil, ""
	msg = bytes.Buffer{}
	dev := e.Device(b, "bench", "14.1")
	fs, err := dev.FolderSync(ctx, "0")
	if err != nil {
		b.Fatal(err)
	}
	inboxFolder, _ := client.FolderByType(fs.Add, 2)
	inbox := inboxFolder.ServerID
	items, _, err := dev.SyncAll(ctx, inbox, client.SyncOptions{Class: "Email"})
	if err != nil || len(items) != 1 {
		b.Fatalf("sync: %v %d", err, len(items))
	}
	var sid, ref string
	for id, d := range items {
		sid = id
		ref = d.Child(wbxml.AirSyncBase, "Attachments").Child(wbxml.AirSyncBase, "Attachment").ChildText(wbxml.AirSyncBase, "FileReference")
	}
	request := func(withBody bool) []byte {
		req := wbxml.New(wbxml.ItemOperations, "ItemOperations")
		if withBody {
			f := req.Add(wbxml.ItemOperations, "Fetch")
			f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
			f.AddText(wbxml.AirSync, "CollectionId", inbox)
			f.AddText(wbxml.AirSync, "ServerId", sid)
			f.Add(wbxml.ItemOperations, "Options").Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "1")
		}
		f := req.Add(wbxml.ItemOperations, "Fetch")
		f.AddText(wbxml.ItemOperations, "Store", "Mailbox")
		f.AddText(wbxml.AirSyncBase, "FileReference", ref)
		body, err := wbxml.Encode(req)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	for _, bc := range []struct {
		name      string
		multipart bool
		withBody  bool
	}{
		{"inline", false, false}, {"inline+body", false, true},
		{"multipart", true, false}, {"multipart+body", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := request(bc.withBody)
			var peak int64
			runtime.GC()
			base := liveHeap()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
						if h := liveHeap() - base; h > atomic.LoadInt64(&peak) {
							atomic.StoreInt64(&peak, h)
						}
					}
				}
			}()
			b.ReportAllocs()
			var got int64
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, e.URL+"/Microsoft-Server-ActiveSync?Cmd=ItemOperations&User="+e.User+"&DeviceId=bench&DeviceType=TestPhone", bytes.NewReader(body))
				req.SetBasicAuth(e.User, e.Password)
				req.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
				req.Header.Set("MS-ASProtocolVersion", "14.1")
				req.Header.Set("X-MS-PolicyKey", strconv.FormatUint(uint64(dev.PolicyKey), 10))
				if bc.multipart {
					req.Header.Set("MS-ASAcceptMultiPart", "T")
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				got, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || got < size || (bc.multipart && !strings.Contains(res.Header.Get("Content-Type"), "multipart")) {
					b.Fatalf("HTTP %d, %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), got)
				}
			}
			close(stop)
			<-done
			b.ReportMetric(float64(atomic.LoadInt64(&peak))/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(got)/(1<<20), "resp-MB")
		})
	}
}

// liveHeap is the bytes of live and not-yet-swept heap objects.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}
