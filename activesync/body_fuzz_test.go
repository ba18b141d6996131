package activesync

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRequestBody feeds arbitrary bodies, plain or claimed to be gzip,
// through the front's body reader: it must never panic, never return more
// than the limit, and answer every failure with a 4xx.
func FuzzRequestBody(f *testing.F) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(bytes.Repeat([]byte{0}, 10_000)) // a small bomb: over the limit once inflated
	_ = zw.Close()
	f.Add(zb.Bytes(), true)
	f.Add([]byte{0x03, 0x01, 0x6A, 0x00, 0x45, 0x01}, false)
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00}, true)
	f.Add([]byte{}, true)
	const limit = 4 << 10
	s := &Server{MaxRequestBytes: limit}
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		r := httptest.NewRequest(http.MethodPost, Path+"?Cmd=Sync", bytes.NewReader(body))
		if gz {
			r.Header.Set("Content-Encoding", "gzip")
		}
		r.Header.Set("Content-Type", ContentTypeWBXML)
		w := httptest.NewRecorder()
		c := &call{s: s, w: w, r: r, cmd: commandTable["Sync"], log: s.log()}
		defer c.releaseBody()
		err := s.readBody(c)
		if err == nil {
			if len(c.raw) > limit {
				t.Fatalf("%d bytes returned over a %d-byte limit", len(c.raw), limit)
			}
			return
		}
		e := asError(err)
		if code := e.HTTP; code != 0 && (code < 400 || code >= 500) {
			t.Fatalf("HTTP %d for %v", code, err)
		}
		if e.HTTP == 0 && e.Status == 0 {
			t.Fatalf("an untyped failure: %v", err)
		}
	})
}
