package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	t.Setenv("IDLEBRIDGE_TEST_IMAP_ADDR", "127.0.0.1:1143")
	t.Setenv("IDLEBRIDGE_TEST_IMAP_PASSWORD", "pw")
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, devices, users int, ramp time.Duration, imap, json string)
		wantErr bool
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, devices, users int, ramp time.Duration, imap, json string) {
			if devices != 100 || users != 0 || ramp != 200*time.Millisecond || imap != "127.0.0.1:1143" || json != "" {
				t.Errorf("devices %d users %d ramp %v imap %q json %q", devices, users, ramp, imap, json)
			}
		}},
		{name: "explicit", args: []string{"--devices", "10", "--users", "3", "--ramp", "0s", "--imap", "h:1", "--json", "r.json"},
			check: func(t *testing.T, devices, users int, ramp time.Duration, imap, json string) {
				if devices != 10 || users != 3 || ramp != 0 || imap != "h:1" || json != "r.json" {
					t.Errorf("devices %d users %d ramp %v imap %q json %q", devices, users, ramp, imap, json)
				}
			}},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, json, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				tt.check(t, o.Devices, o.Users, o.Ramp, o.IMAPAddr, json)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	_, _, err := parseFlags([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"--devices", "--wake-timeout", "--idle-measure", "Exit status"} {
		if !strings.Contains(out.String(), strings.TrimPrefix(want, "-")) {
			t.Errorf("help lacks %s", want)
		}
	}
	if code := run([]string{"--imap", "", "--password", ""}, io.Discard, io.Discard); code != 2 {
		t.Errorf("missing IMAP: exit %d, want 2", code)
	}
}
