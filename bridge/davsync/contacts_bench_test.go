package davsync

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/internal/testenv"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

const benchContacts = 5000

// benchPhoto is a 200x200 JPEG of about 20 KB, what a phone's contact
// photo weighs.
func benchPhoto(b testing.TB) string {
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	seed := uint32(2463534242)
	for i := range img.Pix {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		img.Pix[i] = byte(i/800) + byte(seed%32)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// fillCards stores n cards with photos in book, as fill does for events
// (IDLEBRIDGE_BENCH_RADICALE_DIR writes Radicale's files directly).
func (e *env) fillCards(book string, n int) {
	e.t.Helper()
	photo := benchPhoto(e.t)
	var folded strings.Builder
	line := "PHOTO;ENCODING=b;TYPE=JPEG:" + photo
	for len(line) > 75 {
		folded.WriteString(line[:75] + "\r\n ")
		line = line[75:]
	}
	folded.WriteString(line + "\r\n")
	dir := os.Getenv("IDLEBRIDGE_BENCH_RADICALE_DIR")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				card := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-%d\r\nFN:Person %d\r\nN:Person%d;First%d;;;\r\n"+
					"EMAIL;TYPE=INTERNET:p%d@example.org\r\nTEL;TYPE=CELL:+49 170 %07d\r\nTEL;TYPE=WORK:+49 30 %07d\r\n"+
					"ADR;TYPE=HOME:;;Street %d;Berlin;;10115;Germany\r\nORG:Corp;Dept %d\r\nTITLE:Staff\r\nBDAY:1980-05-%02d\r\n%sEND:VCARD\r\n",
					i, i, i, i, i, i, i, i, i%50, 1+i%28, folded.String())
				name := fmt.Sprintf("c%05d.vcf", i)
				if dir != "" {
					if err := os.WriteFile(filepath.Join(dir, "collection-root", strings.Trim(book, "/"), name), []byte(card), 0o644); err != nil {
						errs <- err
						return
					}
					continue
				}
				if _, err := e.other.Create(e.ctx, book+name, dav.ContentVCard, []byte(card)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		e.t.Fatal(err)
	default:
	}
}

// BenchmarkContacts5000 gives the closing note's figures for an address
// book of 5 000 contacts with ~20 KB photos: an initial sync (windows of
// 512), with its time, peak heap, upstream traffic and the bytes of
// ApplicationData sent to the device; and an empty incremental Sync
// (upstream requests per Sync).
func BenchmarkContacts5000(b *testing.B) {
	dir := os.Getenv("IDLEBRIDGE_BENCH_RADICALE_DIR")
	user := testenv.UniqueUser(b)
	if dir != "" {
		user = "benchcontacts5000@example.test"
	}
	e := newEnvClass(b, Options{Timeout: 15 * time.Minute}, user, ContactsClass)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	e.ctx = ctx
	book := e.home + "big/"
	// Radicale's first listing of 5 000 new cards parses them all.
	other, err := dav.New(dav.Config{URL: testenv.DAVURL(b), Username: user, Password: "secret", Timeout: 15 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	e.other = other
	fillStart := time.Now()
	if list, _, err := e.other.List(ctx, book); err != nil || len(list) != benchContacts {
		if err == nil && len(list) != 0 {
			b.Fatalf("%s holds %d cards, want %d", book, len(list), benchContacts)
		}
		if err != nil {
			if err := e.other.MakeAddressBook(ctx, book, "Big"); err != nil {
				b.Fatal(err)
			}
		}
		e.fillCards(book, benchContacts)
		if list, _, err := e.other.List(ctx, book); err != nil || len(list) != benchContacts {
			b.Fatalf("warm-up listing: %d, %v", len(list), err)
		}
	}
	b.Logf("%d cards ready in %v (with the server's first parse)", benchContacts, time.Since(fillStart))
	f := folderFor(engine.Ref{Kind: engine.KindContacts, Path: book})

	b.Run("initial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e.device = fmt.Sprintf("init%d-%d", i, time.Now().UnixNano())
			e.wire.reset()
			var n, toDevice int
			start := time.Now()
			peak := peakHeap(func() {
				s := e.syncer(f, 161, 0)
				for _, it := range s.all(512) {
					n++
					if it.Data != nil {
						if enc, err := wbxml.Encode(it.Data); err == nil {
							toDevice += len(enc)
						}
					}
				}
			})
			el := time.Since(start)
			if n != benchContacts {
				b.Fatalf("initial sync brought %d items", n)
			}
			b.ReportMetric(el.Seconds(), "s")
			b.ReportMetric(float64(n)/el.Seconds(), "contacts/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(toDevice)/(1<<20), "to-device-MiB")
			b.ReportMetric(float64(e.wire.requests.Load()), "upstream-requests")
			b.ReportMetric(float64(e.wire.got.Load())/(1<<20), "upstream-recv-MiB")
		}
	})
	b.Run("empty-incremental", func(b *testing.B) {
		e.device = fmt.Sprintf("steady-%d", time.Now().UnixNano())
		s := e.syncer(f, 161, 0)
		s.all(512)
		e.wire.reset()
		for b.Loop() {
			if res := s.run(nil, 100); len(res.Commands) != 0 {
				b.Fatalf("empty sync brought %d", len(res.Commands))
			}
		}
		time.Sleep(20 * time.Millisecond)
		n := float64(b.N)
		b.ReportMetric(float64(e.wire.requests.Load())/n, "upstream-requests/op")
		b.ReportMetric(float64(e.wire.sent.Load()+e.wire.got.Load())/n, "upstream-B/op")
	})
}
