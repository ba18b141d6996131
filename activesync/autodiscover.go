package activesync

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Autodiscover schemas (MS-ASCMD 2.2.2.1, the mobilesync flavour).
const (
	adRequestSchema  = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
	adResponseSchema = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
	adOuterSchema    = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
)

// easURL is the ActiveSync endpoint announced to clients.
func (s *Server) easURL() string { return strings.TrimRight(s.PublicURL, "/") + Path }

type adRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

// serveAutodiscoverXML answers the POX Autodiscover request (MS-ASCMD
// 2.2.1.1) with the mobilesync response: where to find the ActiveSync
// endpoint. It requires the same credentials as ActiveSync so that a
// client setting up an account learns early whether the password is right.
func (s *Server) serveAutodiscoverXML(w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, w: w, r: r, log: s.log().With("cmd", "Autodiscover")}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	acct, _ := s.authenticate(c)
	if acct == nil {
		return
	}
	var req adRequest
	// The same read deadline as ActiveSync bodies (body.go).
	dl := s.startBodyDeadline(w, r)
	body, err := io.ReadAll(io.LimitReader(dl.reader(r.Body), 64<<10))
	if err == nil {
		dl.clear()
	}
	if err == nil && len(body) > 0 {
		err = xml.Unmarshal(body, &req)
	}
	email := strings.TrimSpace(req.Request.EMailAddress)
	if email == "" {
		email = acct.Address()
	}
	schema := strings.TrimSpace(req.Request.AcceptableResponseSchema)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	switch {
	case err != nil:
		c.log.Warn("autodiscover: malformed request", "err", err, "user", acct.Address())
		writeADError(w, "600", "Invalid Request")
	case schema != "" && schema != adResponseSchema:
		c.log.Warn("autodiscover: unsupported response schema", "schema", schema, "user", acct.Address())
		writeADError(w, "601", "Requested schema version not supported")
	default:
		c.log.Info("autodiscover", "user", acct.Address())
		writeADSuccess(w, acct, email, s.easURL())
	}
}

type adResponse struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	Xmlns    string   `xml:"xmlns,attr"`
	Response struct {
		Xmlns   string `xml:"xmlns,attr"`
		Culture string `xml:"Culture,omitempty"`
		User    *struct {
			DisplayName  string `xml:"DisplayName,omitempty"`
			EMailAddress string `xml:"EMailAddress"`
		} `xml:"User,omitempty"`
		Action *struct {
			Settings struct {
				Server []adServer `xml:"Server"`
			} `xml:"Settings"`
		} `xml:"Action,omitempty"`
		Error *struct {
			ErrorCode string `xml:"ErrorCode"`
			Message   string `xml:"Message"`
		} `xml:"Error,omitempty"`
	} `xml:"Response"`
}

type adServer struct {
	Type string `xml:"Type"`
	URL  string `xml:"Url"`
	Name string `xml:"Name"`
}

func writeADSuccess(w http.ResponseWriter, acct Account, email, easURL string) {
	var resp adResponse
	resp.Xmlns = adOuterSchema
	resp.Response.Xmlns = adResponseSchema
	resp.Response.Culture = "en:us"
	resp.Response.User = &struct {
		DisplayName  string `xml:"DisplayName,omitempty"`
		EMailAddress string `xml:"EMailAddress"`
	}{DisplayName: acct.DisplayName(), EMailAddress: email}
	resp.Response.Action = &struct {
		Settings struct {
			Server []adServer `xml:"Server"`
		} `xml:"Settings"`
	}{}
	resp.Response.Action.Settings.Server = []adServer{{Type: "MobileSync", URL: easURL, Name: easURL}}
	writeXML(w, &resp)
}

func writeADError(w http.ResponseWriter, code, msg string) {
	var resp adResponse
	resp.Xmlns = adOuterSchema
	resp.Response.Xmlns = adResponseSchema
	resp.Response.Error = &struct {
		ErrorCode string `xml:"ErrorCode"`
		Message   string `xml:"Message"`
	}{code, msg}
	writeXML(w, &resp)
}

func writeXML(w http.ResponseWriter, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}

// serveAutodiscoverJSON answers the JSON Autodiscover that Outlook for iOS
// and Android asks first, unauthenticated:
// GET /autodiscover/autodiscover.json?Email=a@b&Protocol=ActiveSync or
// GET /autodiscover/autodiscover.json/v1.0/a@b?Protocol=ActiveSync.
func (s *Server) serveAutodiscoverJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q := r.URL.Query()
	protocol := ""
	for k, v := range q {
		if strings.EqualFold(k, "Protocol") && len(v) > 0 {
			protocol = v[0]
		}
	}
	if !strings.EqualFold(protocol, "ActiveSync") {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"ErrorCode":    "InvalidProtocol",
			"ErrorMessage": "The given protocol value '" + url.QueryEscape(protocol) + "' is invalid. Supported values are 'ActiveSync'.",
		})
		return
	}
	s.log().Info("autodiscover.json", "remote", s.clientAddr(r).String())
	_ = json.NewEncoder(w).Encode(map[string]string{"Protocol": "ActiveSync", "Url": s.easURL()})
}
