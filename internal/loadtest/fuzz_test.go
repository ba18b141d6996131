package loadtest

import (
	"strings"
	"testing"
)

// The /proc and metrics parsers read text from outside the process.

func FuzzParseTCPLine(f *testing.F) {
	f.Add("   5: 0100007F:A1B2 0100007F:9B7D 01 00000000:00000000 02:000AF4A1 00000000  1000        0 4242 2 0")
	f.Add("sl local rem st")
	f.Fuzz(func(t *testing.T, line string) {
		e, ok := parseTCPLine(line)
		if ok && (e.remotePort < 0 || e.remotePort > 65535 || e.state < 0 || e.state > 255) {
			t.Fatalf("out of range: %+v", e)
		}
	})
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte("123 (idlebridge) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0"))
	f.Add([]byte(")))"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := parseStatCPU(data); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}

func FuzzParseMetrics(f *testing.F) {
	f.Add("go_goroutines 43\n# x\nidlebridge_upstream_connections NaN\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = parseMetrics(strings.NewReader(text), []string{"go_goroutines"})
	})
}
