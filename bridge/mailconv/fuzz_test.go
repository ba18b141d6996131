package mailconv

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// seedCorpus adds every testdata message to f.
func seedCorpus(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	invitations, _ := filepath.Glob(filepath.Join("testdata", "imip", "*.eml"))
	files = append(files, invitations...)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzToApplicationData: arbitrary bytes and options never panic and always
// yield an element that encodes as WBXML.
func FuzzToApplicationData(f *testing.F) {
	seedCorpus(f, func(b []byte) { f.Add(b, uint8(2), uint16(0), uint8(141), uint8(0), false) })
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n--a--"), uint8(1), uint16(3), uint8(121), uint8(2), true)
	f.Fuzz(func(t *testing.T, raw []byte, typ uint8, trunc uint16, version uint8, mimeSupport uint8, allOrNone bool) {
		versions := []int{121, 140, 141, 160, 161}
		opts := Options{
			Version:        versions[int(version)%len(versions)],
			MIMESupport:    int(mimeSupport % 3),
			MIMETruncation: int(trunc%10) - 1,
			BodyPrefs: []BodyPreference{
				{Type: int(typ % 6), TruncationSize: int64(trunc), AllOrNone: allOrNone, Preview: int(trunc % 300)},
				{Type: BodyPlain, TruncationSize: int64(trunc / 2)},
			},
		}
		ad, _ := ToApplicationData(raw, Meta{ServerID: "1:1", Flags: []string{`\Seen`, string(raw[:min(len(raw), 5)])}}, opts)
		if ad == nil {
			t.Fatal("nil element")
		}
		mustEncode(t, ad)
		atts, _ := Attachments(raw, "1:1")
		for _, a := range atts {
			if _, _, ok := ParseFileReference(a.FileReference); !ok {
				t.Fatalf("unparsable FileReference %q", a.FileReference)
			}
		}
	})
}

// FuzzOpenPart: any message and part path never panic; a found part reads
// to the end.
func FuzzOpenPart(f *testing.F) {
	seedCorpus(f, func(b []byte) {
		for _, p := range []string{"1", "2", "1.2", "4.2", "4"} {
			f.Add(b, p)
		}
	})
	f.Fuzz(func(t *testing.T, raw []byte, path string) {
		r, _, err := OpenPart(raw, path)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			// Corrupt base64 may end a stream with an error; that is reported, not a crash.
			return
		}
	})
}

// FuzzMeetingPart: the search for an invitation's calendar part and its
// conversion never panic on any message, and a MeetingRequest found is
// sendable and carries the required GlobalObjId.
func FuzzMeetingPart(f *testing.F) {
	seedCorpus(f, func(b []byte) { f.Add(b, uint8(2)) })
	f.Add([]byte("Content-Type: text/calendar; method=REQUEST\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!"), uint8(0))
	versions := []int{121, 140, 141, 160, 161}
	f.Fuzz(func(t *testing.T, raw []byte, version uint8) {
		opts := Options{Version: versions[int(version)%len(versions)]}
		t0 := parseTree(raw)
		m, _ := meeting(analyze(t0), t0.root.hdr, opts)
		if m == nil {
			return
		}
		mr := meetingElement(m, opts)
		if !mr.Has(wbxml.Email, "GlobalObjId") {
			t.Fatal("MeetingRequest without GlobalObjId")
		}
		if _, err := wbxml.Encode(mr); err != nil {
			t.Fatalf("encode: %v", err)
		}
	})
}
