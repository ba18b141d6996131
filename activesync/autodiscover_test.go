package activesync_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
)

func TestAutodiscoverXML(t *testing.T) {
	h := newHarness(t)
	body := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
	for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
		req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("%s without credentials: %d, want 401", path, res.StatusCode)
		}
		req, _ = http.NewRequest("POST", h.url+path, strings.NewReader(body))
		req.SetBasicAuth("alice@example.com", "secret")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		s := string(out)
		for _, want := range []string{"<Type>MobileSync</Type>", "<Url>https://mail.example.com/Microsoft-Server-ActiveSync</Url>",
			"<EMailAddress>alice@example.com</EMailAddress>", "mobilesync/responseschema/2006"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: response lacks %s:\n%s", path, want, s)
			}
		}
	}
	req, _ := http.NewRequest("POST", h.url+"/autodiscover/autodiscover.xml", strings.NewReader(strings.ReplaceAll(body, "mobilesync/responseschema", "outlook/responseschema")))
	req.SetBasicAuth("alice@example.com", "secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(out), "<ErrorCode>601</ErrorCode>") {
		t.Errorf("unsupported schema: %s", out)
	}
}

func TestAutodiscoverJSON(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{
		"/autodiscover/autodiscover.json?Email=alice@example.com&Protocol=ActiveSync&RedirectCount=1",
		"/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=ActiveSync",
	} {
		res, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		err = json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || got["Protocol"] != "ActiveSync" || got["Url"] != "https://mail.example.com/Microsoft-Server-ActiveSync" {
			t.Errorf("%s: %d %v %v", path, res.StatusCode, got, err)
		}
	}
	res, err := http.Get(h.url + "/autodiscover/autodiscover.json?Email=a@b&Protocol=Ews")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("other protocol: %d, want 400", res.StatusCode)
	}
}

// FuzzAutodiscoverXML: any request body gets a well-formed answer (never a
// panic, never a 5xx) from an authenticated client.
func FuzzAutodiscoverXML(f *testing.F) {
	f.Add(`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>a@b</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress>`)
	f.Add("")
	s := &activesync.Server{Backend: newFakeBackend(), PublicURL: "https://mail.example.com"}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/autodiscover/autodiscover.xml", strings.NewReader(body))
		req.SetBasicAuth("alice@example.com", "secret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<Autodiscover") {
			t.Fatalf("body %q: HTTP %d %q", body, rec.Code, rec.Body.String())
		}
	})
}
