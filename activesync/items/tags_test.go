package items

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// TestTagsExistOnTheirCodePage reads tags.go and checks that every typed tag
// constant names a tag of its code page, so a constant cannot drift from
// the wbxml tables.
func TestTagsExistOnTheirCodePage(t *testing.T) {
	spaces := map[string]string{"calTag": wbxml.Calendar, "taskTag": wbxml.Tasks, "baseTag": wbxml.AirSyncBase,
		"emailTag": wbxml.Email, "email2Tag": wbxml.Email2, "respTag": wbxml.MeetingResponse}
	f, err := parser.ParseFile(token.NewFileSet(), "tags.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			typ, _ := vs.Type.(*ast.Ident)
			if typ == nil || spaces[typ.Name] == "" {
				t.Fatalf("constant %s has no tag type", vs.Names[0])
			}
			name, _ := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
			if _, _, ok := wbxml.Lookup(spaces[typ.Name], name); !ok {
				t.Errorf("%s = %q is not a tag of code page %s", vs.Names[0], name, spaces[typ.Name])
			}
			n++
		}
	}
	if n < 135 {
		t.Fatalf("checked only %d constants", n)
	}
}

func TestParseDateBothForms(t *testing.T) {
	want := time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
	for _, s := range []string{"20260701T070000Z", "2026-07-01T07:00:00.000Z", "2026-07-01T07:00:00Z", "20260701T070000", "2026-07-01T07:00:00.000"} {
		got, err := ParseDate(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Z", "2026-13-01T07:00:00Z", "yesterday", "20260701"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	if FormatCompact(want) != "20260701T070000Z" || FormatDashes(want) != "2026-07-01T07:00:00.000Z" {
		t.Fatal(FormatCompact(want), FormatDashes(want))
	}
}
