package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// Search of the GAL through the HTTP front at 14.1 and 16.1, against a
// domain's directory book on the test Radicale: part of a name finds the
// colleagues in display order with the total, the range cuts, an ORG
// match (which Radicale cannot text-match) is found once the local copy
// is built, and the empty <Picture/> iOS sends brings the photo.
func TestSearchGALThroughTheFront(t *testing.T) {
	user := testenv.UniqueUser(t)
	_, domain, _ := strings.Cut(user, "@")
	e := bridgetest.Start(t, bridgetest.Options{DAV: true, User: user,
		Files: map[string]string{"@" + domain + ".yaml": "gal: {addressbook: /" + user + "/gal/}\n"}})
	c, home := davAs(t, e)
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	photo := buf.Bytes()
	putCards(t, c, home+"gal/", map[string]string{
		"g1": "FN:Jane Roe\r\nN:Roe;Jane;;;\r\nEMAIL:jane@corp.example\r\nTITLE:Engineer\r\nPHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(photo) + "\r\n",
		"g2": "FN:Richard Roe\r\nN:Roe;Richard;;;\r\nEMAIL:rich@corp.example\r\n",
		"g3": "FN:Zed Zulu\r\nN:Zulu;Zed;;;\r\nEMAIL:zed@corp.example\r\nORG:Acme Widgets\r\n",
	})
	for _, ver := range []string{"14.1", "16.1"} {
		t.Run(ver, func(t *testing.T) {
			dev := e.Device(t, "gal"+strings.ReplaceAll(ver, ".", ""), ver)
			run := func(text, rng string, picture bool) *wbxml.Element {
				t.Helper()
				req := wbxml.New(wbxml.Search, "Search")
				st := req.Add(wbxml.Search, "Store")
				st.AddText(wbxml.Search, "Name", "GAL")
				st.AddText(wbxml.Search, "Query", text)
				o := st.Add(wbxml.Search, "Options")
				o.AddText(wbxml.Search, "Range", rng)
				if picture {
					o.Add(wbxml.Search, "Picture") // iOS: empty
				}
				res, err := dev.Do(context.Background(), "Search", req)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status() != "1" {
					t.Fatalf("Search %q: Status %q", text, res.Status())
				}
				return res.Doc.Child(wbxml.Search, "Response").Child(wbxml.Search, "Store")
			}
			names := func(store *wbxml.Element) string {
				var out []string
				for _, r := range store.All(wbxml.Search, "Result") {
					if p := r.Child(wbxml.Search, "Properties"); p != nil {
						out = append(out, p.ChildText(wbxml.GAL, "DisplayName"))
					}
				}
				return store.ChildText(wbxml.Search, "Total") + ":" + strings.Join(out, "|")
			}
			if got := names(run("roe", "0-9", false)); got != "2:Jane Roe|Richard Roe" {
				t.Errorf("roe = %s", got)
			}
			st := run("roe", "1-1", false)
			if got := names(st); got != "2:Richard Roe" || st.ChildText(wbxml.Search, "Range") != "1-1" {
				t.Errorf("roe 1-1 = %s range %s", got, st.ChildText(wbxml.Search, "Range"))
			}
			// The first searches were answered by the server (on FN, EMAIL,
			// NICKNAME: Radicale refuses ORG) while the local copy was built
			// behind them; once it is, ORG matches too.
			deadline := time.Now().Add(30 * time.Second)
			got := names(run("acme", "0-9", false))
			for got != "1:Zed Zulu" && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				got = names(run("acme", "0-9", false))
			}
			if got != "1:Zed Zulu" {
				t.Errorf("acme = %s", got)
			}
			props := run("jane", "0-0", true).Child(wbxml.Search, "Result").Child(wbxml.Search, "Properties")
			if props.ChildText(wbxml.GAL, "EmailAddress") != "jane@corp.example" || props.ChildText(wbxml.GAL, "Title") != "Engineer" {
				t.Errorf("jane's properties: %s %s", props.ChildText(wbxml.GAL, "EmailAddress"), props.ChildText(wbxml.GAL, "Title"))
			}
			pic := props.Child(wbxml.GAL, "Picture")
			if pic == nil || pic.ChildText(wbxml.GAL, "Status") != "1" || !bytes.Equal(pic.Child(wbxml.GAL, "Data").Opaque, photo) {
				t.Errorf("jane's picture at %s: %v", ver, pic != nil)
			}
			if ver == "16.1" {
				// Find (16.1) asks the same directory.
				req := wbxml.New(wbxml.Find, "Find")
				req.AddText(wbxml.Find, "SearchId", "3d2f8a10-5b7c-4e1f-9a0b-6c5d4e3f2a19")
				g := req.Add(wbxml.Find, "ExecuteSearch").Add(wbxml.Find, "GalSearchCriterion")
				g.AddText(wbxml.Find, "Query", "roe")
				g.Add(wbxml.Find, "Options").AddText(wbxml.Find, "Range", "0-9")
				res, err := dev.Do(context.Background(), "Find", req)
				if err != nil {
					t.Fatal(err)
				}
				resp := res.Doc.Child(wbxml.Find, "Response")
				var found []string
				for _, r := range resp.All(wbxml.Find, "Result") {
					found = append(found, r.Child(wbxml.Find, "Properties").ChildText(wbxml.GAL, "DisplayName"))
				}
				if res.Doc.ChildText(wbxml.Find, "Status") != "1" || resp.ChildText(wbxml.Find, "Total") != "2" || strings.Join(found, "|") != "Jane Roe|Richard Roe" {
					t.Errorf("GAL Find roe: %s", res.Doc.XML())
				}
			}
		})
	}
}
