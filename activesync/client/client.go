// Package client is a device-side ActiveSync client: what a phone does,
// written for the bridge's own tests, `idlebridge probe` and the load tool.
// It speaks the plain or the base64 query form, keeps the policy key and
// sync keys the way a device does, and returns decoded WBXML.
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Client is one simulated device. Set the fields, then call methods; a
// Client is not safe for concurrent use (a device does one thing at a time,
// except for a parked Ping, for which use a second Client with the same
// device ID).
type Client struct {
	BaseURL    string // e.g. http://127.0.0.1:8080
	User       string
	Password   string
	DeviceID   string
	DeviceType string
	Version    string // "16.1"
	UserAgent  string
	PolicyKey  uint32
	// Base64Query sends the MS-ASHTTP base64 query form instead of the
	// plain one.
	Base64Query bool
	// AcceptMultiPart asks for multipart ItemOperations answers
	// (MS-ASAcceptMultiPart: T, or the base64 query's option).
	AcceptMultiPart bool
	// Gzip sends request bodies with Content-Encoding: gzip, as some
	// Android clients do.
	Gzip bool
	HTTP *http.Client
}

// Response is a decoded answer.
type Response struct {
	HTTPStatus int
	Header     http.Header
	Body       []byte
	Doc        *wbxml.Element // nil when the body is not WBXML or empty
	// Parts of a multipart answer (part 0 is the WBXML decoded as Doc).
	Parts [][]byte
}

// Status returns the text of the top-level Status element, "" if none.
// Status is the document's top-level Status, "" without a document.
func (r *Response) Status() string {
	if r.Doc == nil {
		return ""
	}
	return r.Doc.ChildText(r.Doc.Space, "Status")
}

// HTTPError is returned when the server answered with a non-200 code.
type HTTPError struct {
	Code int
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("activesync: HTTP %d %s", e.Code, strings.TrimSpace(e.Body))
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Params are extra URI parameters (CollectionId, ItemId, SaveInSent...).
type Params struct {
	AttachmentName, CollectionID, ItemID, LongID, Occurrence string
	SaveInSent                                               bool
	AcceptMultiPart                                          bool // base64 form only; see Client.AcceptMultiPart
}

// Do sends one command with a WBXML body (nil for none) and returns the
// answer. Non-200 answers are returned as *HTTPError with the Response.
func (c *Client) Do(ctx context.Context, cmd string, body *wbxml.Element) (*Response, error) {
	var raw []byte
	if body != nil {
		b, err := wbxml.Encode(body)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	return c.DoRaw(ctx, cmd, Params{}, raw, "application/vnd.ms-sync.wbxml")
}

// DoRaw sends a command with a raw body and content type.
func (c *Client) DoRaw(ctx context.Context, cmd string, p Params, body []byte, contentType string) (*Response, error) {
	u, err := c.url(cmd, p)
	if err != nil {
		return nil, err
	}
	if c.Gzip && len(body) > 0 {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return nil, err
		}
		body = zb.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.Gzip && len(body) > 0 {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.SetBasicAuth(c.User, c.Password)
	if len(body) > 0 {
		req.Header.Set("Content-Type", contentType)
	}
	if !c.Base64Query {
		req.Header.Set("MS-ASProtocolVersion", c.version())
		req.Header.Set("X-MS-PolicyKey", strconv.FormatUint(uint64(c.PolicyKey), 10))
		if c.AcceptMultiPart {
			req.Header.Set("MS-ASAcceptMultiPart", "T")
		}
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	r := &Response{HTTPStatus: res.StatusCode, Header: res.Header, Body: data}
	if res.StatusCode != http.StatusOK {
		return r, &HTTPError{Code: res.StatusCode, Body: string(data)}
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), ContentTypeMultipart) {
		parts, err := DecodeMultipart(data)
		if err != nil {
			return r, err
		}
		r.Parts = parts
		doc, err := wbxml.Decode(parts[0], wbxml.DefaultLimits)
		if err != nil {
			return r, fmt.Errorf("activesync: decoding %s multipart response: %w", cmd, err)
		}
		r.Doc = doc
		return r, nil
	}
	if len(data) > 0 && strings.Contains(res.Header.Get("Content-Type"), "wbxml") {
		doc, err := wbxml.Decode(data, wbxml.DefaultLimits)
		if err != nil {
			return r, fmt.Errorf("activesync: decoding %s response: %w", cmd, err)
		}
		r.Doc = doc
	}
	return r, nil
}

func (c *Client) version() string {
	if c.Version == "" {
		return "14.1"
	}
	return c.Version
}

func (c *Client) url(cmd string, p Params) (string, error) {
	base := strings.TrimRight(c.BaseURL, "/") + "/Microsoft-Server-ActiveSync?"
	if !c.Base64Query {
		v := url.Values{}
		v.Set("Cmd", cmd)
		v.Set("User", c.User)
		v.Set("DeviceId", c.DeviceID)
		v.Set("DeviceType", c.deviceType())
		for k, val := range map[string]string{"AttachmentName": p.AttachmentName, "CollectionId": p.CollectionID,
			"ItemId": p.ItemID, "LongId": p.LongID, "Occurrence": p.Occurrence} {
			if val != "" {
				v.Set(k, val)
			}
		}
		if p.SaveInSent {
			v.Set("SaveInSent", "T")
		}
		return base + v.Encode(), nil
	}
	p.AcceptMultiPart = p.AcceptMultiPart || c.AcceptMultiPart
	q, err := EncodeBase64Query(c.version(), cmd, c.DeviceID, c.deviceType(), c.PolicyKey, c.User, p)
	if err != nil {
		return "", err
	}
	return base + q, nil
}

func (c *Client) deviceType() string {
	if c.DeviceType == "" {
		return "SmartPhone"
	}
	return c.DeviceType
}

var commandCodes = map[string]byte{
	"Sync": 0, "SendMail": 1, "SmartForward": 2, "SmartReply": 3, "GetAttachment": 4,
	"FolderSync": 9, "FolderCreate": 10, "FolderDelete": 11, "FolderUpdate": 12,
	"MoveItems": 13, "GetItemEstimate": 14, "MeetingResponse": 15, "Search": 16,
	"Settings": 17, "Ping": 18, "ItemOperations": 19, "Provision": 20,
	"ResolveRecipients": 21, "ValidateCert": 22, "Find": 23,
}

// EncodeBase64Query builds the MS-ASHTTP 2.2.1.1.1.1 base64 query value.
func EncodeBase64Query(version, cmd, deviceID, deviceType string, policyKey uint32, user string, p Params) (string, error) {
	code, ok := commandCodes[cmd]
	if !ok {
		return "", fmt.Errorf("activesync: no command code for %q", cmd)
	}
	major, minor, _ := strings.Cut(version, ".")
	mj, err1 := strconv.Atoi(major)
	mn, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("activesync: bad version %q", version)
	}
	if len(deviceID) > 255 || len(deviceType) > 255 {
		return "", errors.New("activesync: device id or type too long")
	}
	b := []byte{byte(mj*10 + mn), code, 0x09, 0x04} // locale en-US
	b = append(b, byte(len(deviceID)))
	b = append(b, deviceID...)
	if policyKey != 0 {
		b = append(b, 4)
		b = binary.LittleEndian.AppendUint32(b, policyKey)
	} else {
		b = append(b, 0)
	}
	b = append(b, byte(len(deviceType)))
	b = append(b, deviceType...)
	param := func(tag byte, v string) {
		if v != "" && len(v) <= 255 {
			b = append(b, tag, byte(len(v)))
			b = append(b, v...)
		}
	}
	param(0, p.AttachmentName)
	param(1, p.CollectionID)
	param(3, p.ItemID)
	param(4, p.LongID)
	param(6, p.Occurrence)
	param(8, user)
	var opts byte
	if p.SaveInSent {
		opts |= 0x01
	}
	if p.AcceptMultiPart {
		opts |= 0x02
	}
	if opts != 0 {
		b = append(b, 7, 1, opts)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Options sends OPTIONS and returns the response headers.
func (c *Client) Options(ctx context.Context) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, strings.TrimRight(c.BaseURL, "/")+"/Microsoft-Server-ActiveSync", nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.User, c.Password)
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return res.Header, &HTTPError{Code: res.StatusCode}
	}
	return res.Header, nil
}
