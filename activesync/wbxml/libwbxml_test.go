package wbxml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

// libwbxmlXML renders a tree the way xml2wbxml expects it: libwbxml's own
// tag spellings (the inverse of libwbxmlAliases), "Gal:" for page 16,
// opaque content as base64, and the ActiveSync DOCTYPE it needs.
func libwbxmlXML(root *Element) string {
	names := make(map[tagKey]string, len(libwbxmlAliases))
	for alias, canon := range libwbxmlAliases {
		names[tagKey{alias.space, canon}] = alias.name
	}
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" +
		"<!DOCTYPE ActiveSync PUBLIC \"-//MICROSOFT//DTD ActiveSync//EN\" \"http://www.microsoft.com/\">\n")
	var walk func(e *Element, parent string)
	walk = func(e *Element, parent string) {
		name := e.Name
		if n, ok := names[tagKey{e.Space, e.Name}]; ok {
			name = n
		}
		b.WriteString("<" + name)
		if e.Space != parent {
			ns := e.Space
			if ns == GAL {
				ns = "Gal"
			}
			b.WriteString(` xmlns="` + ns + `:"`)
		}
		b.WriteString(">")
		switch {
		case e.IsOpaque:
			b.WriteString(base64.StdEncoding.EncodeToString(e.Opaque))
		case e.Text != "":
			_ = xml.EscapeText(&b, []byte(e.Text))
		}
		for _, c := range e.Children {
			walk(c, e.Space)
		}
		b.WriteString("</" + name + ">")
	}
	walk(root, "")
	return b.String()
}

// usesFind reports whether a tree needs page 25, which libwbxml 0.11.8 lacks.
func usesFind(e *Element) bool {
	if e.Space == Find {
		return true
	}
	for _, c := range e.Children {
		if usesFind(c) {
			return true
		}
	}
	return false
}

// TestLibwbxmlCrossCheck runs Debian's libwbxml over every golden vector:
// its encoding must equal ours byte for byte, and wbxml2xml's reading of our
// bytes must parse back to the same tree.
func TestLibwbxmlCrossCheck(t *testing.T) {
	x2w := testenv.Tool(t, "xml2wbxml")
	w2x := testenv.Tool(t, "wbxml2xml")
	dir := t.TempDir()
	for _, name := range goldenNames(t) {
		t.Run(name, func(t *testing.T) {
			tree, _ := readGolden(t, name)
			if usesFind(tree) {
				t.Skip("libwbxml 0.11.8 has no code page 25 (Find)")
			}
			ours, err := Encode(tree)
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, name+".xml")
			out := filepath.Join(dir, name+".wbxml")
			if err := os.WriteFile(in, []byte(libwbxmlXML(tree)), 0o600); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(x2w, "-a", "-n", "-o", out, in).CombinedOutput(); err != nil {
				t.Fatalf("xml2wbxml: %v\n%s", err, msg)
			}
			theirs, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("encodings differ\nours:     % x\nlibwbxml: % x", ours, theirs)
			}

			ourFile := filepath.Join(dir, name+".ours.wbxml")
			if err := os.WriteFile(ourFile, ours, 0o600); err != nil {
				t.Fatal(err)
			}
			xmlOut, err := exec.Command(w2x, "-l", "ACTIVESYNC", "-o", "-", ourFile).Output()
			if err != nil {
				t.Fatalf("wbxml2xml: %v", err)
			}
			// wbxml2xml appends a status line after the document on stdout.
			if i := bytes.LastIndexByte(xmlOut, '>'); i >= 0 {
				xmlOut = xmlOut[:i+1]
			}
			back, err := ParseXML(bytes.NewReader(xmlOut))
			if err != nil {
				t.Fatalf("ParseXML(wbxml2xml output): %v\n%s", err, xmlOut)
			}
			if !back.Equal(tree) {
				t.Fatalf("wbxml2xml read our bytes differently:\n%s", xmlOut)
			}
		})
	}
}

// TestLibwbxmlEveryToken checks every token libwbxml knows against our
// table: our single-tag document, decoded by wbxml2xml, names the same tag
// (allowing libwbxml's older spellings in libwbxmlAliases).
func TestLibwbxmlEveryToken(t *testing.T) {
	w2x := testenv.Tool(t, "wbxml2xml")
	dir := t.TempDir()
	checked := 0
	for page, cp := range codePages {
		if cp.space == Find {
			continue // not in libwbxml 0.11.8
		}
		root := New(AirSync, "Sync")
		for _, name := range cp.tags {
			root.AddText(cp.space, name, "x")
		}
		bin, err := Encode(root)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, cp.space+".wbxml")
		if err := os.WriteFile(f, bin, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(w2x, "-l", "ACTIVESYNC", "-o", "-", f).Output()
		if err != nil {
			t.Fatalf("page %d: wbxml2xml: %v", page, err)
		}
		// Tokens libwbxml does not know come back as "unknown"; the 16.1
		// additions it lacks are the only ones allowed to.
		text := string(out)
		if i := strings.LastIndexByte(text, '>'); i >= 0 {
			text = text[:i+1]
		}
		text = strings.ReplaceAll(text, "<unknown>x</unknown>", "")
		back, err := ParseXML(strings.NewReader(text))
		if err != nil {
			t.Fatalf("page %d (%s): %v", page, cp.space, err)
		}
		want := map[string]bool{}
		for _, c := range root.Children {
			want[c.Name] = true
		}
		for _, c := range back.Children {
			if c.Space != cp.space || !want[c.Name] {
				t.Errorf("page %d: libwbxml decoded a token as %s:%s", page, c.Space, c.Name)
			}
			checked++
		}
		if missing := len(root.Children) - len(back.Children); missing > 0 {
			t.Logf("page %d (%s): %d tokens unknown to libwbxml", page, cp.space, missing)
		}
	}
	if checked < 550 {
		t.Fatalf("only %d tokens cross-checked", checked)
	}
}
