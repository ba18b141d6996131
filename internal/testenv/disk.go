package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TinyDisk mounts a tmpfs of size (e.g. "256k") on a fresh directory and
// unmounts it when the test ends: a file system that really fills up, for
// full-disk tests. Mounting needs root (the test command runs as root);
// without it the test is skipped, or fails under IDLEBRIDGE_TEST_REQUIRE=1.
func TinyDisk(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		Missing(t, "a tmpfs mount for a full-disk test (needs root): "+strings.TrimSpace(string(out)))
		return ""
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// FillDisk writes a file in dir until the file system is full and returns
// a function that removes it again.
func FillDisk(t testing.TB, dir string) (free func()) {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler-*")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	_ = f.Close()
	return func() {
		if err := os.Remove(f.Name()); err != nil {
			t.Fatal(err)
		}
	}
}
