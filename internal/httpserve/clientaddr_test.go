package httpserve

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		realIP  string
		want    string
	}{
		{"no proxies configured: headers ignored", nil, "10.1.2.3:5555", []string{"203.0.113.9"}, "", "10.1.2.3"},
		{"untrusted peer: headers ignored", trusted, "198.51.100.4:5555", []string{"203.0.113.9"}, "203.0.113.8", "198.51.100.4"},
		{"trusted peer, one hop", trusted, "10.0.0.2:5555", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"spoofed left part is skipped", trusted, "10.0.0.2:5555", []string{"6.6.6.6, 203.0.113.9"}, "", "203.0.113.9"},
		{"chain of trusted proxies", trusted, "10.0.0.2:5555", []string{"203.0.113.9, 192.0.2.7, 10.9.9.9"}, "", "203.0.113.9"},
		{"several headers form one list", trusted, "10.0.0.2:5555", []string{"6.6.6.6", "203.0.113.9, 10.9.9.9"}, "", "203.0.113.9"},
		{"all hops trusted: left-most", trusted, "10.0.0.2:5555", []string{"10.3.3.3, 10.4.4.4"}, "", "10.3.3.3"},
		{"garbage stops the walk", trusted, "10.0.0.2:5555", []string{"203.0.113.9, unknown, 10.4.4.4"}, "", "10.4.4.4"},
		{"garbage right at the proxy", trusted, "10.0.0.2:5555", []string{"nonsense"}, "", "10.0.0.2"},
		{"entries with ports", trusted, "10.0.0.2:5555", []string{"203.0.113.9:4711"}, "", "203.0.113.9"},
		{"ipv6 entries", trusted, "[fd00::1]:443", []string{"[2001:db8::5]:1234, fd00::2"}, "", "2001:db8::5"},
		{"x-real-ip from trusted peer", trusted, "10.0.0.2:5555", nil, "203.0.113.9", "203.0.113.9"},
		{"bad x-real-ip: peer", trusted, "10.0.0.2:5555", nil, "bogus", "10.0.0.2"},
		{"x-forwarded-for wins over x-real-ip", trusted, "10.0.0.2:5555", []string{"203.0.113.9"}, "198.51.100.1", "203.0.113.9"},
		{"mapped ipv4 peer matches ipv4 prefix", trusted, "[::ffff:10.0.0.2]:5555", []string{"203.0.113.9"}, "", "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			got := ClientAddrFunc(tt.trusted)(r)
			if got.String() != tt.want {
				t.Errorf("client = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr bool
	}{
		{[]string{"10.0.0.0/8", " 192.0.2.7 ", "::1", ""}, []string{"10.0.0.0/8", "192.0.2.7/32", "::1/128"}, false},
		{[]string{"10.1.2.3/8"}, []string{"10.0.0.0/8"}, false},
		{[]string{"proxy.local"}, nil, true},
		{[]string{"10.0.0.0/33"}, nil, true},
	}
	for _, tt := range tests {
		got, err := ParsePrefixes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePrefixes(%q) err = %v", tt.in, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParsePrefixes(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].String() != tt.want[i] {
				t.Errorf("ParsePrefixes(%q)[%d] = %s, want %s", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}
