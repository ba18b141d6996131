package davsync

import (
	"testing"

	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
)

// The client families that see one contacts folder, by the values real
// clients send (onefolder.go names the source of each).
func TestOneContactFolder(t *testing.T) {
	for _, tc := range []struct {
		deviceType, userAgent string
		want                  bool
	}{
		{"SAMSUNGSMG991B", "SAMSUNG-SM-G991B/101.11003", true},
		{"SAMSUNG", "", true},
		{"samsungsmn960f", "", true},
		{"", "SAMSUNG-SM-A525F/100.40000", true},
		{"HTCOnemini2", "", true},
		{"Android", "Android/4.4.2-EAS-1.3", true},
		{"Android", "Android-Mail/7.1.2", true},
		{"Android", "Android-Mail/7.5.1.1", false},
		{"Android", "Android-Mail/2023.04.16", false},
		{"Android", "Android-Mail/x", false},
		{"WindowsOutlook", "", true},
		{"WindowsOutlook15", "Outlook/15.0 (15.0.5537.1000; MSI; x64)", true},
		{"", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro) Outlook/16.0", true},
		{"WP8", "MSFT-WP/8.0.10521", true},
		{"WP", "MSFT-WP/8.10.14219", true},
		{"PocketPC", "MSFT-PPC/5.2.5082", true},
		// Every folder shown:
		{"iPhone", "Apple-iPhone14C2/2008.152", false},
		{"iPad", "Apple-iPad13C1/2008.152", false},
		{"Outlook", "Outlook-iOS-Android/1.0", false},
		{"Android", "Nine/4.9.0", false},
		{"TestPhone", "", false},
		{"", "", false},
	} {
		if got := OneContactFolder(tc.deviceType, tc.userAgent); got != tc.want {
			t.Errorf("OneContactFolder(%q, %q) = %v, want %v", tc.deviceType, tc.userAgent, got, tc.want)
		}
	}
}

// merge_books overrides the family either way; auto (or a principal
// without a user) follows it.
func TestMergeBooksOverride(t *testing.T) {
	samsung := engine.Client{DeviceType: "SAMSUNGSMG991B"}
	iphone := engine.Client{DeviceType: "iPhone", UserAgent: "Apple-iPhone14C2/2008.152"}
	user := func(mode string) *accounts.Principal {
		return &accounts.Principal{User: &accounts.User{Contacts: accounts.Contacts{MergeBooks: mode}}}
	}
	for _, tc := range []struct {
		p      *accounts.Principal
		c      engine.Client
		want   bool
		reason string
	}{
		{user(accounts.MergeBooksAuto), samsung, true, "auto, Samsung"},
		{user(accounts.MergeBooksAuto), iphone, false, "auto, iPhone"},
		{user(""), samsung, true, "unset, Samsung"},
		{nil, samsung, true, "no principal, Samsung"},
		{user(accounts.MergeBooksNever), samsung, false, "never, Samsung"},
		{user(accounts.MergeBooksAlways), iphone, true, "always, iPhone"},
	} {
		if got := mergeBooks(tc.p, tc.c); got != tc.want {
			t.Errorf("%s: mergeBooks = %v, want %v", tc.reason, got, tc.want)
		}
	}
}

// bookOf finds a card's book among the known ones (the longest prefix),
// else by its parent collection.
func TestBookOf(t *testing.T) {
	meta := map[string]string{metaBooks: "/u/contacts/" + entrySep + "/u/contacts-work/"}
	for href, want := range map[string]string{
		"/u/contacts/a.vcf":      "/u/contacts/",
		"/u/contacts-work/b.vcf": "/u/contacts-work/",
		"/u/other/c.vcf":         "/u/other/",
	} {
		if got := bookOf(meta, href); got != want {
			t.Errorf("bookOf(%q) = %q, want %q", href, got, want)
		}
	}
	if !hiddenFor(engine.Ref{Kind: engine.KindContacts, Path: "/u/contacts/"}, true) || hiddenFor(mergedRef(), true) ||
		!hiddenFor(mergedRef(), false) || hiddenFor(engine.Ref{Kind: engine.KindCalendar, Path: "/u/cal/"}, true) {
		t.Error("hiddenFor: a merged device sees the merged folder only, another the books only, calendars untouched")
	}
}

// The rule reads what devices send (any bytes in DeviceType and
// User-Agent, a version that is no number): no panic, and the case of
// the ASCII letters does not matter (devices differ in it: "SAMSUNG",
// "samsung").
func FuzzOneContactFolder(f *testing.F) {
	f.Add("SAMSUNGSMG991B", "SAMSUNG-SM-G991B/101.11003")
	f.Add("Android", "Android-Mail/7.5.1")
	f.Add("Android", "Android-Mail/")
	f.Add("", "Android-Mail/.")
	f.Add("WindowsOutlook15", "Outlook/16.0")
	upper := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if c >= 'a' && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
		}
		return string(b)
	}
	f.Fuzz(func(t *testing.T, deviceType, userAgent string) {
		if got, up := OneContactFolder(deviceType, userAgent), OneContactFolder(upper(deviceType), upper(userAgent)); got != up {
			t.Fatalf("OneContactFolder(%q, %q) = %v, but %v in upper case", deviceType, userAgent, got, up)
		}
	})
}
