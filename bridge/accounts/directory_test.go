package accounts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/internal/testenv"
)

const (
	passthroughFile = "preset: fastmail\nlogin: {mode: passthrough}\n"
	badPortFile     = "preset: fastmail\nimap: {port: 0x1FFFF}\nlogin: {mode: passthrough}\n"
)

func writeFile(t testing.TB, dir, name, content string) {
	t.Helper()
	// Write then rename, as editors and config managers do, so the watcher
	// never reads a half-written file.
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func openTestDirectory(t testing.TB, dir string) *Directory {
	t.Helper()
	d, err := openDirectory(t.Context(), dir, nil, noEnv)
	if err != nil {
		t.Fatalf("OpenDirectory: %v", err)
	}
	return d
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "alice@example.com.yaml", passthroughFile)
	writeFile(t, dir, "Bob@Example.com.yaml", "preset: dovecot\nimap: {host: mail.example.com}\nlogin: {mode: passthrough}\n")
	writeFile(t, dir, "carol@example.com.yaml", badPortFile)
	writeFile(t, dir, "dave@example.com.example.yaml", passthroughFile) // an example: never a user
	writeFile(t, dir, "erin.yaml", passthroughFile)                     // not an address
	writeFile(t, dir, "notes.txt", "hello")
	if err := os.Mkdir(filepath.Join(dir, "frank@example.com.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}

	d := openTestDirectory(t, dir)

	var got []string
	for _, u := range d.Users() {
		got = append(got, u.Address)
	}
	if strings.Join(got, ",") != "alice@example.com,bob@example.com" {
		t.Errorf("Users() = %v, want alice and bob", got)
	}
	for _, addr := range []string{"alice@example.com", "ALICE@example.COM", "bob@example.com", "Bob@Example.com"} {
		if _, ok := d.Lookup(addr); !ok {
			t.Errorf("Lookup(%q) found nothing", addr)
		}
	}
	for _, addr := range []string{"carol@example.com", "dave@example.com", "erin", "frank@example.com"} {
		if u, ok := d.Lookup(addr); ok {
			t.Errorf("Lookup(%q) = %+v, want nothing", addr, u)
		}
	}
	if u, _ := d.Lookup("bob@example.com"); u.File != filepath.Join(dir, "Bob@Example.com.yaml") {
		t.Errorf("bob's File = %q", u.File)
	}
	probs := d.Problems()
	if len(probs) != 1 {
		t.Fatalf("Problems() = %v, want one for carol", probs)
	}
	if probs[0].File != filepath.Join(dir, "carol@example.com.yaml") || probs[0].Field != "imap.port" {
		t.Errorf("problem = %+v, want carol's file and field imap.port", probs[0])
	}
}

func TestOpenDirectoryCaseDuplicates(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "alice@example.com.yaml", passthroughFile)
	writeFile(t, dir, "Alice@example.com.yaml", "preset: mailbox.org\nlogin: {mode: passthrough}\n")
	d := openTestDirectory(t, dir)
	u, ok := d.Lookup("alice@example.com")
	// Sorted by name, "Alice@…" comes first and wins; the other is a problem.
	if !ok || u.Preset != "mailbox.org" {
		t.Fatalf("Lookup = %+v, %v; want the mailbox.org file", u, ok)
	}
	if p := d.Problems(); len(p) != 1 || !strings.Contains(p[0].Msg, "same address") {
		t.Errorf("Problems() = %v, want one duplicate", p)
	}
}

func TestOpenDirectoryMissing(t *testing.T) {
	if _, err := OpenDirectory(t.Context(), filepath.Join(t.TempDir(), "nope"), nil); err == nil {
		t.Error("OpenDirectory of a missing directory succeeded")
	}
}

func TestWatchReloads(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "alice@example.com.yaml", passthroughFile)
	d := openTestDirectory(t, dir)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v", err)
		}
	}()

	// Added while watching. (Watch rescans once after starting, so a file
	// written before its watch was armed is still picked up.)
	writeFile(t, dir, "bob@example.com.yaml", passthroughFile)
	testenv.WaitFor(t, 5*time.Second, "bob to be added", func() bool { _, ok := d.Lookup("bob@example.com"); return ok })

	// Changed.
	writeFile(t, dir, "alice@example.com.yaml", "preset: mailbox.org\nlogin: {mode: passthrough}\n")
	testenv.WaitFor(t, 5*time.Second, "alice to be reloaded", func() bool { u, _ := d.Lookup("alice@example.com"); return u != nil && u.Preset == "mailbox.org" })

	// Broken: the user disappears and a problem names the field.
	writeFile(t, dir, "alice@example.com.yaml", badPortFile)
	testenv.WaitFor(t, 5*time.Second, "alice's file to become a problem", func() bool {
		_, ok := d.Lookup("alice@example.com")
		p := d.Problems()
		return !ok && len(p) == 1 && p[0].Field == "imap.port"
	})

	// Fixed in place (not a rename) and the problem goes away.
	if err := os.WriteFile(filepath.Join(dir, "alice@example.com.yaml"), []byte(passthroughFile), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "alice to be fixed", func() bool { _, ok := d.Lookup("alice@example.com"); return ok && len(d.Problems()) == 0 })

	// Removed.
	if err := os.Remove(filepath.Join(dir, "bob@example.com.yaml")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "bob to be removed", func() bool { _, ok := d.Lookup("bob@example.com"); return !ok })
	if _, ok := d.Lookup("alice@example.com"); !ok {
		t.Error("alice vanished when bob was removed")
	}
}
