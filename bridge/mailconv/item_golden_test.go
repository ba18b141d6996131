package mailconv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestItemGolden renders the whole ApplicationData of every testdata
// message for three typical devices against testdata/items/<name>.xml
// (-update rewrites them): a 12.1 client taking MIME, a 14.1 client asking
// for truncated HTML with a preview, and a 16.1 client asking for plain
// text, with flags and keywords set. It pins the order and presence of
// every element, so a change to items.Email or to the conversion shows up
// here as a diff.
func TestItemGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) < 15 {
		t.Fatalf("only %d messages under testdata", len(files))
	}
	flagged := Meta{ServerID: "3:9", Flags: []string{`\Seen`, `\Flagged`, `\Answered`, "Work", "junk", "$Label1", `\Draft`},
		InternalDate: time.Date(2025, 3, 12, 8, 0, 0, 0, time.UTC), Size: 4000}
	devices := []struct {
		name string
		meta Meta
		opts Options
	}{
		{"12.1 MIME", testMeta, Options{Version: 121, MIMESupport: 2, MIMETruncation: 8}},
		{"14.1 HTML 400 bytes, preview", testMeta, Options{Version: 141, BodyPrefs: []BodyPreference{{Type: BodyHTML, TruncationSize: 400, Preview: 80}}}},
		{"16.1 plain, flagged", flagged, Options{Version: 161, BodyPrefs: []BodyPreference{{Type: BodyPlain}}}},
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		for _, d := range devices {
			ad, err := convert(t, raw, d.meta, d.opts)
			got.WriteString("<!-- " + d.name)
			if err != nil {
				got.WriteString(" — problems: " + err.Error())
			}
			got.WriteString(" -->\n" + ad.XML())
		}
		base := strings.TrimSuffix(filepath.Base(f), ".eml")
		meetingGolden(t, filepath.Join("testdata", "items", base+".xml"), got.String())
	}
}
