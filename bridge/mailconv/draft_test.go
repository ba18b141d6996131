package mailconv

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func draftData(subject, to, body string) *wbxml.Element {
	ad := wbxml.New(wbxml.AirSync, "ApplicationData")
	ad.AddText(wbxml.Email, "To", to)
	ad.AddText(wbxml.Email, "Subject", subject)
	b := ad.Add(wbxml.AirSyncBase, "Body")
	b.AddText(wbxml.AirSyncBase, "Type", "1")
	b.AddText(wbxml.AirSyncBase, "Data", body)
	return ad
}

func TestDraftMessage(t *testing.T) {
	ad := draftData("Grüße\r\nBcc: evil@example.test", `"Bob" <bob@example.test>, carol@example.test`, "line one\nline two ü")
	ad.AddText(wbxml.Email2, "Bcc", "dave@example.test")
	ad.AddText(wbxml.Email, "Importance", "2")
	raw, err := DraftMessage(ad, "alice@example.test", "draft.1@bridge", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("draft does not parse: %v\n%s", err, raw)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 2 || to[0].Address != "bob@example.test" {
		t.Errorf("To %v %v", to, err)
	}
	if bcc, _ := msg.Header.AddressList("Bcc"); len(bcc) != 1 || bcc[0].Address != "dave@example.test" {
		t.Errorf("Bcc %v: the one the device gave, nothing injected", bcc)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.HasPrefix(subj, "Grüße") || strings.ContainsAny(subj, "\r\n") {
		t.Errorf("subject %q", subj)
	}
	if msg.Header.Get("Importance") != "high" {
		t.Errorf("importance %q", msg.Header.Get("Importance"))
	}
	// Round trip: what the device saved is what it syncs back.
	back, _ := ToApplicationData(raw, Meta{ServerID: "3:1", Flags: []string{`\Draft`}}, Options{Version: 161, BodyPrefs: []BodyPreference{{Type: 1}}})
	if got := back.Child(wbxml.AirSyncBase, "Body").ChildText(wbxml.AirSyncBase, "Data"); !strings.Contains(got, "line two ü") {
		t.Errorf("body back %q", got)
	}
	if back.ChildText(wbxml.Email2, "IsDraft") != "1" {
		t.Errorf("IsDraft back %q", back.ChildText(wbxml.Email2, "IsDraft"))
	}
	ad.Add(wbxml.Email2, "Send")
	if _, err := DraftMessage(ad, "alice@example.test", "x@y", time.Now()); err != ErrDraftSend {
		t.Errorf("Send: %v, want ErrDraftSend", err)
	}
	if !IsDraftContent(ad) {
		t.Error("content Change not recognised")
	}
	flags := wbxml.New(wbxml.AirSync, "ApplicationData")
	flags.AddText(wbxml.Email, "Read", "1")
	if IsDraftContent(flags) {
		t.Error("a flags-only Change taken for content")
	}
}

// FuzzDraftMessage: whatever a device sends as a draft, the message built
// parses, and no header line comes from the device's line breaks.
func FuzzDraftMessage(f *testing.F) {
	seed, _ := wbxml.Encode(draftData("hi", "bob@example.test", "text"))
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		el, err := wbxml.Decode(in, wbxml.DefaultLimits)
		if err != nil {
			return
		}
		raw, err := DraftMessage(el, "alice@example.test", "id@bridge", time.Unix(0, 0))
		if err != nil {
			return
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("draft does not parse: %v\n%q", err, raw)
		}
		for k := range msg.Header {
			switch k {
			case "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-Id", "Importance", "Mime-Version", "Content-Type", "Content-Transfer-Encoding":
			default:
				t.Fatalf("header %q injected:\n%q", k, raw)
			}
		}
	})
}
