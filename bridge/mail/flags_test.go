package mail

import "testing"

func TestFlagSignature(t *testing.T) {
	a := flagSignature([]string{`\Seen`, `\Flagged`, `\Recent`, "Work"})
	b := flagSignature([]string{"work", `\flagged`, `\seen`})
	if a != b {
		t.Errorf("signatures differ: %q %q", a, b)
	}
	if flagSignature(nil) == flagSignature([]string{`\Seen`}) {
		t.Error("seen and unseen share a signature")
	}
}

func TestCategoryKeyword(t *testing.T) {
	tests := map[string]string{"Work": "Work", "Two words": "Two_words", "$junk": "", `\Seen`: "", "a(b)": "a_b_", "": ""}
	for in, want := range tests {
		if got := categoryKeyword(in); got != want {
			t.Errorf("categoryKeyword(%q) = %q, want %q", in, got, want)
		}
	}
}
