package mailconv

import (
	"slices"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func TestChangeData(t *testing.T) {
	tests := []struct {
		flags      []string
		version    int
		read       string
		flagStatus string
		verb       string
		cats       []string
		wantCats   bool
	}{
		{nil, 141, "0", "", "", nil, true},
		{[]string{`\Seen`, `\Flagged`}, 141, "1", "2", "", nil, true},
		{[]string{`\Answered`, "Work", "$label1", "NonJunk", `\Recent`, "Work"}, 141, "0", "", "1", []string{"Work"}, true},
		{[]string{`$Forwarded`, "Home"}, 161, "0", "", "3", []string{"Home"}, true},
		{[]string{`\seen`, "Work"}, 121, "1", "", "", nil, false},
	}
	for _, tc := range tests {
		ad := ChangeData(tc.flags, Options{Version: tc.version})
		mustEncode(t, ad)
		if got := ad.ChildText(wbxml.Email, "Read"); got != tc.read {
			t.Errorf("%v: Read %q", tc.flags, got)
		}
		flag := ad.Child(wbxml.Email, "Flag")
		if flag == nil || flag.ChildText(wbxml.Email, "FlagStatus") != tc.flagStatus {
			t.Errorf("%v: Flag %+v", tc.flags, flag)
		}
		if tc.flagStatus == "" && len(flag.Children) != 0 {
			t.Errorf("%v: unflagged Flag must be empty", tc.flags)
		}
		if got := ad.ChildText(wbxml.Email2, "LastVerbExecuted"); got != tc.verb {
			t.Errorf("%v: LastVerbExecuted %q", tc.flags, got)
		}
		c := ad.Child(wbxml.Email, "Categories")
		if (c != nil) != tc.wantCats {
			t.Fatalf("%v: Categories present %v", tc.flags, c != nil)
		}
		var cats []string
		for _, e := range c.All(wbxml.Email, "Category") {
			cats = append(cats, e.Text)
		}
		if !slices.Equal(cats, tc.cats) {
			t.Errorf("%v: categories %v, want %v", tc.flags, cats, tc.cats)
		}
	}
}

func TestParseChange(t *testing.T) {
	ptr := func(b bool) *bool { return &b }
	app := func(build func(*wbxml.Element)) *wbxml.Element {
		e := wbxml.New(wbxml.AirSync, "ApplicationData")
		build(e)
		return e
	}
	tests := []struct {
		name    string
		in      *wbxml.Element
		read    *bool
		flagged *bool
		cats    *[]string
	}{
		{"nil", nil, nil, nil, nil},
		{"read", app(func(e *wbxml.Element) { e.AddText(wbxml.Email, "Read", "1") }), ptr(true), nil, nil},
		{"unread", app(func(e *wbxml.Element) { e.AddText(wbxml.Email, "Read", "0") }), ptr(false), nil, nil},
		{"empty flag clears", app(func(e *wbxml.Element) { e.Add(wbxml.Email, "Flag") }), nil, ptr(false), nil},
		{"active flag", app(func(e *wbxml.Element) {
			f := e.Add(wbxml.Email, "Flag")
			f.AddText(wbxml.Email, "FlagStatus", "2")
			f.AddText(wbxml.Email, "FlagType", "for Follow Up")
		}), nil, ptr(true), nil},
		{"complete flag clears", app(func(e *wbxml.Element) {
			e.Add(wbxml.Email, "Flag").AddText(wbxml.Email, "FlagStatus", "1")
		}), nil, ptr(false), nil},
		{"categories", app(func(e *wbxml.Element) {
			c := e.Add(wbxml.Email, "Categories")
			c.AddText(wbxml.Email, "Category", "Work")
			c.AddText(wbxml.Email, "Category", " ")
			c.AddText(wbxml.Email, "Category", "Home")
		}), nil, nil, &[]string{"Work", "Home"}},
		{"empty categories clear", app(func(e *wbxml.Element) { e.Add(wbxml.Email, "Categories") }), nil, nil, &[]string{}},
	}
	eqBool := func(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for _, tc := range tests {
		got := ParseChange(tc.in)
		if !eqBool(got.Read, tc.read) || !eqBool(got.Flagged, tc.flagged) {
			t.Errorf("%s: read %v flagged %v", tc.name, got.Read, got.Flagged)
		}
		if (got.Categories == nil) != (tc.cats == nil) || (got.Categories != nil && !slices.Equal(*got.Categories, *tc.cats)) {
			t.Errorf("%s: categories %v", tc.name, got.Categories)
		}
	}
	// Round trip: what ChangeData sends, ParseChange reads back.
	rt := ParseChange(ChangeData([]string{`\Seen`, `\Flagged`, "Work"}, Options{Version: 141}))
	if !*rt.Read || !*rt.Flagged || !slices.Equal(*rt.Categories, []string{"Work"}) {
		t.Errorf("round trip %+v", rt)
	}
}
