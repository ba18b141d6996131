package mailconv

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

var (
	prefPlain = Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyPlain}}}
	prefHTML  = Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML}}}
)

func TestToApplicationDataMessages(t *testing.T) {
	tests := []struct {
		file        string
		opts        Options
		subject     string
		from        string
		to          string
		displayTo   string
		bodyType    string
		contains    []string
		notContains []string
		class       string
		native      string
		importance  string
		attachments int
		wantErr     bool
	}{
		{file: "plain.eml", opts: prefPlain, subject: "Lunch tomorrow?",
			from:      `"Alice Example" <alice@example.org>`,
			to:        `"Bob" <bob@example.com>, "Carol, Q." <carol@example.com>`,
			displayTo: "Bob; Carol, Q.", bodyType: "1",
			contains: []string{"café at noon", "€12 for a lunch special"}, notContains: []string{"=C3", "= \r\n"},
			class: "IPM.Note", native: "1", importance: "2"},
		{file: "plain.eml", opts: prefHTML, subject: "Lunch tomorrow?", bodyType: "2",
			contains: []string{"<html>", "café at noon"}, class: "IPM.Note", native: "1"},
		{file: "alternative.eml", opts: prefPlain, subject: "Weekly digest", bodyType: "1",
			contains: []string{"Plain version of the digest."}, notContains: []string{"<b>"}, native: "2", importance: "1"},
		{file: "alternative.eml", opts: prefHTML, bodyType: "2",
			contains: []string{"<b>version</b>"}, notContains: []string{"Plain version"}, native: "2"},
		{file: "alternative.eml", opts: Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyRTF}}}, bodyType: "1",
			contains: []string{"Plain version"}},
		{file: "htmlonly.eml", opts: prefPlain, bodyType: "1",
			contains: []string{"Order confirmed", "Thanks & welcome, café lover <3",
				"here <https://example.com/track?id=42>", "visit https://example.com.", "- Item one\n- Item two",
				"Total 12.00", "Line\nbreak"},
			notContains: []string{"Title must not show", "color: red", "no script text", "<p>", "https://example.com <https"},
			native:      "2",
		},
		{file: "attachments.eml", opts: prefPlain, subject: "Files for you", bodyType: "1",
			contains: []string{"See the logo and the files."}, attachments: 4},
		{file: "iso2022jp.eml", opts: prefPlain, subject: "会議の件", from: `"山田" <yamada@example.jp>`,
			bodyType: "1", contains: []string{"こんにちは、明日の会議について。"}},
		{file: "windows1252.eml", opts: prefPlain, bodyType: "1", contains: []string{"“Café” coûte 3€."}},
		{file: "utf8headers.eml", opts: prefPlain, subject: "Grüße aus Köln ☕",
			from: `"Jürgen Müller" <juergen@example.de>`, displayTo: "Zoë", contains: []string{"ümlauts"}},
		{file: "broken_encoded_word.eml", opts: prefPlain, subject: "=?utf-8?B?!!notbase64!!?= ok café",
			contains: []string{"naïve"}},
		{file: "missing_boundary.eml", opts: prefPlain, contains: []string{"guessed body"}, attachments: 1, wantErr: true},
		{file: "unterminated.eml", opts: prefPlain, contains: []string{"first part"}, attachments: 1, wantErr: true},
		{file: "garbage.eml", opts: prefPlain, bodyType: "1", contains: []string{undecodableNotice}, wantErr: true},
		{file: "empty.eml", opts: prefPlain, subject: "", bodyType: "1", contains: []string{undecodableNotice}, wantErr: true},
		// A REQUEST whose VEVENT has no UID or DTSTART cannot be answered:
		// an ordinary mail, and the problem is reported (bridge/imip).
		{file: "calendar.eml", opts: prefPlain, class: "IPM.Note", contains: []string{"You are invited."}, attachments: 1, wantErr: true},
		{file: "smime.eml", opts: Options{Version: 141, MIMESupport: 1, BodyPrefs: []BodyPreference{{Type: BodyHTML}, {Type: BodyMIME}}},
			class: "IPM.Note.SMIME", bodyType: "4", contains: []string{"Content-Type: application/pkcs7-mime"}, attachments: 1},
		{file: "nul_bytes.eml", opts: prefPlain, subject: "hasnul", contains: []string{"bodywith nul"}},
		{file: "nul_bytes.eml", opts: Options{Version: 141, MIMESupport: 2, BodyPrefs: []BodyPreference{{Type: BodyMIME}}},
			bodyType: "4", contains: []string{"Subject: hasnul"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ad, err := convert(t, readEML(t, tc.file), testMeta, tc.opts)
			if tc.wantErr {
				var de *DecodeError
				if !errors.As(err, &de) || len(de.Problems) == 0 {
					t.Fatalf("want *DecodeError, got %v", err)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			check := func(name, want string) {
				t.Helper()
				if got := ad.ChildText(wbxml.Email, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tc.subject != "" || tc.file == "empty.eml" {
				check("Subject", tc.subject)
			}
			if tc.from != "" {
				check("From", tc.from)
			}
			if tc.to != "" {
				check("To", tc.to)
			}
			if tc.displayTo != "" {
				check("DisplayTo", tc.displayTo)
			}
			if tc.class != "" {
				check("MessageClass", tc.class)
			}
			if tc.importance != "" {
				check("Importance", tc.importance)
			}
			if tc.native != "" {
				if got := ad.ChildText(wbxml.AirSyncBase, "NativeBodyType"); got != tc.native {
					t.Errorf("NativeBodyType = %q, want %q", got, tc.native)
				}
			}
			b := body(ad)
			if b == nil {
				t.Fatal("no Body")
			}
			if tc.bodyType != "" {
				if got := b.ChildText(wbxml.AirSyncBase, "Type"); got != tc.bodyType {
					t.Errorf("Body Type = %q, want %q", got, tc.bodyType)
				}
			}
			data := b.ChildText(wbxml.AirSyncBase, "Data")
			if !utf8.ValidString(data) && tc.bodyType != "4" {
				t.Errorf("body is not valid UTF-8")
			}
			for _, s := range tc.contains {
				if !strings.Contains(data, s) {
					t.Errorf("body lacks %q; body:\n%s", s, data)
				}
			}
			for _, s := range tc.notContains {
				if strings.Contains(data, s) {
					t.Errorf("body contains %q; body:\n%s", s, data)
				}
			}
			var n int
			if a := ad.Child(wbxml.AirSyncBase, "Attachments"); a != nil {
				n = len(a.All(wbxml.AirSyncBase, "Attachment"))
			}
			if n != tc.attachments {
				t.Errorf("%d attachments, want %d", n, tc.attachments)
			}
		})
	}
}

func TestElementOrderAndVersions(t *testing.T) {
	raw := readEML(t, "plain.eml")
	meta := testMeta
	meta.Flags = []string{`\Seen`, `\Flagged`, `\Answered`, "work", "$Junk", `\Draft`}
	opts := func(v int) Options {
		return Options{Version: v, BodyPrefs: []BodyPreference{{Type: BodyPlain, Preview: 20}}}
	}
	want141 := []string{"Email:To", "Email:Cc", "Email:From", "Email:Subject", "Email:ReplyTo", "Email:DateReceived",
		"Email:DisplayTo", "Email:ThreadTopic", "Email:Importance", "Email:Read", "AirSyncBase:Body",
		"Email:MessageClass", "Email:InternetCPID", "Email:Flag", "Email:ContentClass", "AirSyncBase:NativeBodyType",
		"Email2:ConversationId", "Email2:ConversationIndex", "Email2:LastVerbExecuted", "Email:Categories"}
	tests := []struct {
		version int
		want    []string
		preview bool
	}{
		{121, want141[:16], false},
		{140, want141, true},
		{141, want141, true},
		{160, append(slices.Clone(want141), "Email2:IsDraft"), true},
		{161, append(slices.Clone(want141), "Email2:IsDraft"), true},
	}
	for _, tc := range tests {
		ad, err := convert(t, raw, meta, opts(tc.version))
		if err != nil {
			t.Fatal(err)
		}
		if got := childNames(ad); !slices.Equal(got, tc.want) {
			t.Errorf("%d: children\n got %v\nwant %v", tc.version, got, tc.want)
		}
		if p := body(ad).Child(wbxml.AirSyncBase, "Preview"); (p != nil) != tc.preview {
			t.Errorf("%d: preview present = %v, want %v", tc.version, p != nil, tc.preview)
		}
		if got := ad.ChildText(wbxml.Email, "DateReceived"); got != "2025-03-12T08:00:00.000Z" {
			t.Errorf("DateReceived = %q", got)
		}
		if got := ad.ChildText(wbxml.Email, "Read"); got != "1" {
			t.Errorf("Read = %q", got)
		}
		flag := ad.Child(wbxml.Email, "Flag")
		if flag.ChildText(wbxml.Email, "FlagStatus") != "2" || flag.ChildText(wbxml.Email, "FlagType") != "for Follow Up" {
			t.Errorf("Flag = %+v", flag)
		}
		if tc.version >= 140 {
			if id := ad.Child(wbxml.Email2, "ConversationId"); !id.IsOpaque || len(id.Opaque) != 16 {
				t.Errorf("ConversationId = %+v", id)
			}
			if ix := ad.Child(wbxml.Email2, "ConversationIndex"); !ix.IsOpaque || len(ix.Opaque) != 5 {
				t.Errorf("ConversationIndex = %+v", ix)
			}
			cats := ad.Child(wbxml.Email, "Categories").All(wbxml.Email, "Category")
			if len(cats) != 1 || cats[0].Text != "work" {
				t.Errorf("categories = %v", cats)
			}
		}
		if tc.version >= 160 && ad.ChildText(wbxml.Email2, "IsDraft") != "1" {
			t.Errorf("IsDraft not 1")
		}
	}
}

func TestAttachmentsElement(t *testing.T) {
	ad, err := convert(t, readEML(t, "attachments.eml"), testMeta, prefHTML)
	if err != nil {
		t.Fatal(err)
	}
	type att struct{ name, ref, method, cid, inline string }
	var got []att
	for _, a := range ad.Child(wbxml.AirSyncBase, "Attachments").All(wbxml.AirSyncBase, "Attachment") {
		if childNames(a)[0] != "AirSyncBase:DisplayName" {
			t.Errorf("attachment children order %v", childNames(a))
		}
		got = append(got, att{a.ChildText(wbxml.AirSyncBase, "DisplayName"), a.ChildText(wbxml.AirSyncBase, "FileReference"),
			a.ChildText(wbxml.AirSyncBase, "Method"), a.ChildText(wbxml.AirSyncBase, "ContentId"),
			a.ChildText(wbxml.AirSyncBase, "IsInline")})
	}
	want := []att{
		{"attachment-1.2.png", "7:1042:1.2", "1", "logo@example.org", "1"},
		{"Grüße €.pdf", "7:1042:2", "1", "", ""},
		{"résumé.txt", "7:1042:3", "1", "", ""},
		{"Forwarded original.eml", "7:1042:4", "5", "", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("attachments\n got %v\nwant %v", got, want)
	}
	if data := body(ad).ChildText(wbxml.AirSyncBase, "Data"); !strings.Contains(data, `src="cid:logo@example.org"`) {
		t.Errorf("HTML body lost the cid reference: %s", data)
	}
}

func TestConversationIDStableAcrossThread(t *testing.T) {
	id := func(file string) []byte {
		ad, err := convert(t, readEML(t, file), testMeta, Options{Version: 141})
		if err != nil {
			t.Fatal(err)
		}
		return ad.Child(wbxml.Email2, "ConversationId").Opaque
	}
	root, r1, r2, other := id("thread_root.eml"), id("thread_reply.eml"), id("thread_reply2.eml"), id("plain.eml")
	if string(root) != string(r1) || string(root) != string(r2) {
		t.Errorf("thread ids differ: %x %x %x", root, r1, r2)
	}
	if string(root) == string(other) {
		t.Errorf("unrelated message shares the conversation id")
	}
	ad, _ := convert(t, readEML(t, "thread_reply2.eml"), testMeta, Options{Version: 141})
	if got := ad.ChildText(wbxml.Email, "ThreadTopic"); got != "Project plan" {
		t.Errorf("ThreadTopic = %q", got)
	}
}

func TestNoBodyPreferenceIsWholePlainText(t *testing.T) {
	ad, _ := convert(t, readEML(t, "alternative.eml"), testMeta, Options{Version: 121, MIMETruncation: -1})
	b := body(ad)
	if b.ChildText(wbxml.AirSyncBase, "Type") != "1" || b.ChildText(wbxml.AirSyncBase, "Truncated") != "0" ||
		b.ChildText(wbxml.AirSyncBase, "Data") != "Plain version of the digest." {
		t.Errorf("body = %v / %q", childNames(b), b.ChildText(wbxml.AirSyncBase, "Data"))
	}
}
