package state

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mappedKiB is the resident part of the process's mappings of path, from
// /proc/self/smaps.
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			total += n
		}
	}
	return total
}

// DropMappedPages takes the database file's pages out of the process's
// RSS, and every record reads back intact afterwards (from the page
// cache), also with more written since.
func TestEmbeddedDropMappedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	e, err := OpenEmbedded(path, EmbeddedOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ctx := context.Background()
	const users = 400
	until := time.Now().Add(time.Hour)
	folders := func(i int) []string {
		return []string{fmt.Sprintf("%03d-%s", i, strings.Repeat("f", 1000)), fmt.Sprintf("%03d-inbox", i)}
	}
	check := func() {
		t.Helper()
		for i := range users {
			got, err := e.Watched(ctx, fmt.Sprintf("u%d@example.test", i), time.Now())
			if err != nil || len(got) != 2 || got[0] != folders(i)[0] {
				t.Fatalf("user %d after dropping the pages: %v %v", i, got, err)
			}
		}
	}
	for i := range users {
		if err := e.SetWatched(ctx, fmt.Sprintf("u%d@example.test", i), "a", folders(i), until); err != nil {
			t.Fatal(err)
		}
	}
	check() // every page read through the mapping
	before := mappedKiB(t, path)
	if before < 200 {
		t.Fatalf("only %d KiB of the file resident after reading %d users; the test proves nothing", before, users)
	}
	if err := e.DropMappedPages(); err != nil {
		t.Fatal(err)
	}
	after := mappedKiB(t, path)
	t.Logf("mapped file resident: %d KiB before, %d KiB after", before, after)
	if after > before/4 {
		t.Fatalf("%d KiB still resident after DropMappedPages (was %d)", after, before)
	}
	check()
	if err := e.SetWatched(ctx, "new@example.test", "a", []string{"other"}, until); err != nil {
		t.Fatal(err)
	}
	if err := e.DropMappedPages(); err != nil {
		t.Fatal(err)
	}
	check()
	if got, err := e.Watched(ctx, "new@example.test", time.Now()); err != nil || len(got) != 1 || got[0] != "other" {
		t.Fatalf("written after the first drop: %v %v", got, err)
	}
}
