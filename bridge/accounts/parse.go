package accounts

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// maxUserFileBytes bounds what is read from one user file; a real one is a
// few hundred bytes.
const maxUserFileBytes = 64 << 10

// userFile is the on-disk shape of a user file. Pointers mark fields whose
// absence means "take the preset's value" rather than "empty".
type userFile struct {
	Preset             string        `yaml:"preset"`
	IMAP               *endpointFile `yaml:"imap"`
	SMTP               *endpointFile `yaml:"smtp"`
	CalDAV             *string       `yaml:"caldav"`
	CardDAV            *string       `yaml:"carddav"`
	SentCopyByProvider *bool         `yaml:"sent_copy_by_provider"`
	AllowInsecure      bool          `yaml:"allow_insecure"`
	Login              loginFile     `yaml:"login"`
	GAL                *galFile      `yaml:"gal"`
	Contacts           *contactsFile `yaml:"contacts"`
}

type endpointFile struct {
	Host     string   `yaml:"host"`
	Port     int      `yaml:"port"`
	Security Security `yaml:"security"`
}

type loginFile struct {
	Mode                 string `yaml:"mode"`
	UpstreamUser         string `yaml:"upstream_user"`
	DevicePasswordBcrypt string `yaml:"device_password_bcrypt"`
	UpstreamPassword     string `yaml:"upstream_password"`
	UpstreamPasswordEnv  string `yaml:"upstream_password_env"`
}

// AddressFromFileName returns the address a file in the users directory
// stands for, or false when the file is not a user file: example files
// (*.example.yaml), hidden and editor files, and names that are not
// "<address>.yaml".
func AddressFromFileName(name string) (string, bool) {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".example.yaml") {
		return "", false
	}
	base, ok := strings.CutSuffix(name, ".yaml")
	if !ok || base == "" {
		return "", false
	}
	a, err := mail.ParseAddress(base)
	if err != nil || a.Name != "" || a.Address != base || !strings.Contains(base, "@") {
		return "", false
	}
	return strings.ToLower(base), true
}

// ParseUserFile parses and validates one user file. file is used in errors
// only; address is the (lower-cased) address from the file name; lookupEnv
// resolves upstream_password_env (os.LookupEnv in production). The error, when
// not nil, is a FileError naming the field at fault.
func ParseUserFile(file, address string, data []byte, lookupEnv func(string) (string, bool)) (*User, error) {
	u, ferr := parseUserFile(address, data, lookupEnv)
	if ferr != nil {
		ferr.File = file
		return nil, *ferr
	}
	u.File = file
	return u, nil
}

func parseUserFile(address string, data []byte, lookupEnv func(string) (string, bool)) (*User, *FileError) {
	if len(data) > maxUserFileBytes {
		return nil, &FileError{Msg: fmt.Sprintf("file is larger than %d bytes", maxUserFileBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{Msg: "not valid YAML: " + yamlMessage(err)}
	}
	var f userFile
	if ferr := decodeStrict(&doc, &f); ferr != nil {
		return nil, ferr
	}

	u := &User{Address: address, Preset: f.Preset}
	var p preset
	if f.Preset != "" {
		var ok bool
		if p, ok = presetByName(f.Preset); !ok {
			return nil, &FileError{Field: "preset", Msg: fmt.Sprintf("unknown preset %q (known: %s)", f.Preset, presetNames)}
		}
	}
	u.IMAP = mergeEndpoint(p.IMAP, f.IMAP)
	u.SMTP = mergeEndpoint(p.SMTP, f.SMTP)
	if p.NeedsHost && u.SMTP.Host == "" {
		// A self-hosted server usually takes submission on the IMAP host.
		u.SMTP.Host = u.IMAP.Host
	}
	u.CalDAV, u.CardDAV = p.CalDAV, p.CardDAV
	if f.CalDAV != nil {
		u.CalDAV = *f.CalDAV
	}
	if f.CardDAV != nil {
		u.CardDAV = *f.CardDAV
	}
	u.SentCopyByProvider = p.SentCopyByProvider
	if f.SentCopyByProvider != nil {
		u.SentCopyByProvider = *f.SentCopyByProvider
	}

	if ferr := checkEndpoint("imap", &u.IMAP, 993, 143, f.AllowInsecure); ferr != nil {
		return nil, ferr
	}
	if ferr := checkEndpoint("smtp", &u.SMTP, 465, 587, f.AllowInsecure); ferr != nil {
		return nil, ferr
	}
	if ferr := checkDAVURL("caldav", u.CalDAV, f.AllowInsecure); ferr != nil {
		return nil, ferr
	}
	if ferr := checkDAVURL("carddav", u.CardDAV, f.AllowInsecure); ferr != nil {
		return nil, ferr
	}
	gal, gerr := checkGAL("gal", f.GAL)
	if gerr != nil {
		return nil, gerr
	}
	u.GAL = gal
	contacts, cerr := checkContacts("contacts", f.Contacts)
	if cerr != nil {
		return nil, cerr
	}
	u.Contacts = contacts
	login, ferr := checkLogin(address, f.Login, lookupEnv)
	if ferr != nil {
		return nil, ferr
	}
	u.Login = login
	return u, nil
}

// mergeEndpoint lays the fields set in the file over the preset's.
func mergeEndpoint(base Endpoint, f *endpointFile) Endpoint {
	if f == nil {
		return base
	}
	if f.Host != "" {
		base.Host = f.Host
	}
	if f.Port != 0 {
		base.Port = f.Port
	}
	if f.Security != "" {
		base.Security = f.Security
	}
	return base
}

// checkEndpoint validates ep and fills the defaults left: security tls, and
// the well-known port for the security chosen.
func checkEndpoint(name string, ep *Endpoint, tlsPort, plainPort int, allowInsecure bool) *FileError {
	if ep.Host == "" {
		return &FileError{Field: name + ".host", Msg: "required (or name a preset that sets it)"}
	}
	if !validHost(ep.Host) {
		return &FileError{Field: name + ".host", Msg: fmt.Sprintf("%q is not a host name or IP address", ep.Host)}
	}
	if ep.Security == "" {
		ep.Security = SecurityTLS
	}
	if !ep.Security.valid() {
		return &FileError{Field: name + ".security", Msg: fmt.Sprintf("%q: must be tls, starttls or none", ep.Security)}
	}
	if ep.Security == SecurityNone && !allowInsecure && !isLoopback(ep.Host) {
		return &FileError{Field: name + ".security", Msg: "none sends the password in clear text; allowed only for loopback hosts unless allow_insecure: true"}
	}
	if ep.Port == 0 {
		ep.Port = plainPort
		if ep.Security == SecurityTLS {
			ep.Port = tlsPort
		}
	}
	if ep.Port < 1 || ep.Port > 65535 {
		return &FileError{Field: name + ".port", Msg: "must be 1-65535"}
	}
	return nil
}

func checkDAVURL(name, raw string, allowInsecure bool) *FileError {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &FileError{Field: name, Msg: fmt.Sprintf("%q is not an http(s) URL", raw)}
	}
	if u.User != nil {
		return &FileError{Field: name, Msg: "must not carry credentials; they come from login"}
	}
	if u.Scheme == "http" && !allowInsecure && !isLoopback(u.Hostname()) {
		return &FileError{Field: name, Msg: "http sends the password in clear text; allowed only for loopback hosts unless allow_insecure: true"}
	}
	return nil
}

func checkLogin(address string, f loginFile, lookupEnv func(string) (string, bool)) (Login, *FileError) {
	l := Login{Mode: f.Mode, UpstreamUser: f.UpstreamUser}
	if l.UpstreamUser == "" {
		l.UpstreamUser = address
	}
	if strings.IndexFunc(l.UpstreamUser, unicode.IsControl) >= 0 {
		return Login{}, &FileError{Field: "login.upstream_user", Msg: "must not contain control characters"}
	}
	switch f.Mode {
	case ModePassthrough:
		for _, set := range []struct{ field, value string }{
			{"login.device_password_bcrypt", f.DevicePasswordBcrypt},
			{"login.upstream_password", f.UpstreamPassword},
			{"login.upstream_password_env", f.UpstreamPasswordEnv},
		} {
			if set.value != "" {
				return Login{}, &FileError{Field: set.field, Msg: "only used with mode app-password (passthrough uses the device's password upstream)"}
			}
		}
		return l, nil
	case ModeAppPassword:
	case "":
		return Login{}, &FileError{Field: "login.mode", Msg: "required: passthrough or app-password"}
	default:
		return Login{}, &FileError{Field: "login.mode", Msg: fmt.Sprintf("%q: must be passthrough or app-password", f.Mode)}
	}

	if f.DevicePasswordBcrypt == "" {
		return Login{}, &FileError{Field: "login.device_password_bcrypt", Msg: "required with mode app-password (make one with: htpasswd -nbBC 10 '' 'the-device-password' | cut -c2-)"}
	}
	if _, err := bcrypt.Cost([]byte(f.DevicePasswordBcrypt)); err != nil {
		return Login{}, &FileError{Field: "login.device_password_bcrypt", Msg: "not a bcrypt hash: " + err.Error()}
	}
	l.DevicePasswordBcrypt = f.DevicePasswordBcrypt
	switch {
	case f.UpstreamPassword != "" && f.UpstreamPasswordEnv != "":
		return Login{}, &FileError{Field: "login.upstream_password_env", Msg: "give upstream_password or upstream_password_env, not both"}
	case f.UpstreamPassword != "":
		l.UpstreamPassword = f.UpstreamPassword
	case f.UpstreamPasswordEnv != "":
		v, ok := lookupEnv(f.UpstreamPasswordEnv)
		if !ok || v == "" {
			return Login{}, &FileError{Field: "login.upstream_password_env", Msg: fmt.Sprintf("environment variable %s is not set", f.UpstreamPasswordEnv)}
		}
		l.UpstreamPassword = v
	default:
		return Login{}, &FileError{Field: "login.upstream_password", Msg: "required with mode app-password (or upstream_password_env)"}
	}
	return l, nil
}

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// isLoopback reports whether host never leaves the machine, so cleartext to
// it exposes nothing on the network.
func isLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
