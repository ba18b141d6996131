package wbxml

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenNames lists the testdata/*.xml files that have a .wbxml twin.
func goldenNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d golden vectors", len(files))
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".xml"))
	}
	return names
}

func readGolden(t testing.TB, name string) (*Element, []byte) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree, err := ParseXML(f)
	if err != nil {
		t.Fatalf("%s.xml: %v", name, err)
	}
	bin, err := os.ReadFile(filepath.Join("testdata", name+".wbxml"))
	if err != nil {
		t.Fatal(err)
	}
	return tree, bin
}

// TestGolden decodes libwbxml's bytes of each MS-ASCMD example and compares
// them with the parsed XML, then encodes the tree and compares bytes.
func TestGolden(t *testing.T) {
	for _, name := range goldenNames(t) {
		t.Run(name, func(t *testing.T) {
			want, bin := readGolden(t, name)
			got, err := Decode(bin, DefaultLimits)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !got.Equal(want) {
				t.Fatalf("decoded tree differs\ngot:\n%s\nwant:\n%s", got.XML(), want.XML())
			}
			enc, err := Encode(want)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(enc, bin) {
				t.Fatalf("encoding differs\ngot:  % x\nwant: % x", enc, bin)
			}
			// XML() output must parse back to the same tree.
			again, err := ParseXML(strings.NewReader(got.XML()))
			if err != nil {
				t.Fatalf("ParseXML(XML()): %v", err)
			}
			if !again.Equal(got) {
				t.Fatalf("XML round trip differs:\n%s", again.XML())
			}
		})
	}
}

func TestParseXMLStyles(t *testing.T) {
	want := New(AirSync, "Sync")
	c := want.Add(AirSync, "Collections").Add(AirSync, "Collection")
	c.AddText(AirSync, "SyncKey", "0")
	c.Add(AirSync, "Options").Add(AirSyncBase, "BodyPreference").AddText(AirSyncBase, "Type", "2")
	c.AddOpaque(Email2, "ConversationId", []byte{0, 1, 2})
	tests := []struct{ name, in string }{
		{"MS-ASCMD prefixes", `<?xml version="1.0" encoding="utf-8"?>
<Sync xmlns="AirSync" xmlns:airsyncbase="AirSyncBase" xmlns:email2="Email2"><Collections><Collection>
<SyncKey>0</SyncKey><Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type></airsyncbase:BodyPreference></Options>
<email2:ConversationId>AAEC</email2:ConversationId></Collection></Collections></Sync>`},
		{"wbxml2xml style", `<?xml version="1.0"?>
<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">
<Sync xmlns="AirSync:">
<Collections>
<Collection>
<SyncKey>0</SyncKey>
<Options>
<BodyPreference xmlns="AirSyncBase:">
<Type>2</Type>
</BodyPreference>
</Options>
<ConversationId xmlns="Email2:">AAEC</ConversationId>
</Collection>
</Collections>
</Sync>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseXML(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want) {
				t.Fatalf("got\n%s", got.XML())
			}
		})
	}
}

func TestParseXMLAliasesAndErrors(t *testing.T) {
	got, err := ParseXML(strings.NewReader(`<Search xmlns="Search:"><Response><Store><Result><Properties>` +
		`<EmailAddress xmlns="Gal:">a@b</EmailAddress><BusinessCity xmlns="Contacts:">X</BusinessCity>` +
		`</Properties></Result></Store></Response></Search>`))
	if err != nil {
		t.Fatal(err)
	}
	props := got.Child(Search, "Response").Child(Search, "Store").Child(Search, "Result").Child(Search, "Properties")
	if props.ChildText(GAL, "EmailAddress") != "a@b" || props.ChildText(Contacts, "BusinessAddressCity") != "X" {
		t.Fatalf("aliases not mapped:\n%s", got.XML())
	}
	for _, bad := range []string{
		``,
		`<Sync/>`,
		`<Sync xmlns="Nope:"/>`,
		`<Sync xmlns="AirSync:"><Bogus/></Sync>`,
		`<Sync xmlns="AirSync:" a="1"/>`,
		`<Sync xmlns="AirSync:">x<SyncKey/></Sync>`,
		`<Sync xmlns="AirSync:"><SyncKey/>x</Sync>`,
		`<SendMail xmlns="ComposeMail:"><Mime>not base64!</Mime></SendMail>`,
		`<Sync xmlns="AirSync:"></Sync><Sync xmlns="AirSync:"/>`,
		`<Sync xmlns="AirSync:">`,
	} {
		if _, err := ParseXML(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseXML(%q) succeeded", bad)
		}
	}
}
