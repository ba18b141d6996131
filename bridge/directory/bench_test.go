package directory

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

const benchCards = 10000

var (
	benchOnce sync.Once
	benchEnv  *env
	benchBook string
)

// bigDirectory uploads a 10 000-card directory to the test Radicale once
// per run, as one PUT of the whole collection (Radicale imports a .vcf
// put on a collection; a PUT per card would take minutes).
func bigDirectory(b *testing.B) (*env, string) {
	benchOnce.Do(func() {
		// A fixed user, so a directory uploaded by an earlier run on the
		// same test servers is reused: Radicale takes minutes to import
		// 10 000 cards.
		e := newEnvUser(b, "bench-gal-10k@example.test")
		book := e.home + "gal/"
		if list, _, err := e.client.List(ctxT(b), book); err == nil && len(list) == benchCards {
			benchEnv, benchBook = e, book
			return
		}
		var buf strings.Builder
		first := []string{"Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas"}
		for i := range benchCards {
			fn := fmt.Sprintf("%s Person%04d", first[i%len(first)], i)
			buf.WriteString(card(fmt.Sprintf("bench-%05d", i), fn, fmt.Sprintf("Person%04d;%s;;;", i, first[i%len(first)]),
				fmt.Sprintf("p%04d@corp.example", i), "ORG:Corp;Dept"+fmt.Sprint(i%50), "TITLE:Staff", "TEL;TYPE=work:+49 30 "+fmt.Sprint(100000+i)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(testenv.DAVURL(b), "/")+book, strings.NewReader(buf.String()))
		if err != nil {
			b.Fatal(err)
		}
		req.SetBasicAuth(e.user, "secret")
		req.Header.Set("Content-Type", "text/vcard")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b.Fatalf("bulk PUT: HTTP %d", resp.StatusCode)
		}
		b.Logf("uploaded %d cards in %v", benchCards, time.Since(start).Round(time.Millisecond))
		benchEnv, benchBook = e, book
	})
	if benchEnv == nil {
		b.Fatal("no directory")
	}
	return benchEnv, benchBook
}

// report adds the median and p99 of the per-search latencies.
func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/op")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}

var benchQueries = []string{"anna", "person12", "p0042@", "dept7", "greta person9", "nobody", "corp", "hugo"}

// BenchmarkGALSearch10k: GAL Search latency over a 10 000-card directory
// on the test Radicale — the local copy warm (what every search after a
// user's first costs, with one sync-collection request per Fresh), the
// server's own text-match (search: server, FN/EMAIL/NICKNAME since
// Radicale refuses N and ORG), and building the local copy (a user's
// first search).
func BenchmarkGALSearch10k(b *testing.B) {
	e, book := bigDirectory(b)
	q := func(i int) *activesync.GALQuery {
		return &activesync.GALQuery{Text: benchQueries[i%len(benchQueries)], RangeEnd: 99}
	}
	b.Run("local-warm", func(b *testing.B) {
		s := e.service(b, accounts.GAL{AddressBook: book, Search: accounts.GALSearchLocal}, Options{})
		if _, err := s.SearchGAL(ctxT(b), acct(e.user), "d", q(0)); err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap := float64(ms.HeapAlloc) / (1 << 20) // the service holds the copy of 10 000 cards
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			t0 := time.Now()
			if _, err := s.SearchGAL(ctxT(b), acct(e.user), "d", q(i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
		b.ReportMetric(heap, "heap-MB") // after ResetTimer, which drops reported metrics
	})
	b.Run("local-poll-each", func(b *testing.B) {
		// Fresh so short that every search asks the server for changes.
		s := e.service(b, accounts.GAL{AddressBook: book, Search: accounts.GALSearchLocal}, Options{Fresh: time.Nanosecond})
		if _, err := s.SearchGAL(ctxT(b), acct(e.user), "d", q(0)); err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			t0 := time.Now()
			if _, err := s.SearchGAL(ctxT(b), acct(e.user), "d", q(i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
	b.Run("server", func(b *testing.B) {
		s := e.service(b, accounts.GAL{AddressBook: book, Search: accounts.GALSearchServer}, Options{})
		lat := make([]time.Duration, 0, b.N)
		// Each query costs the server seconds: a handful is the figure.
		for i := range min(b.N, len(benchQueries)) {
			t0 := time.Now()
			if _, err := s.SearchGAL(ctxT(b), acct(e.user), "d", q(i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
	b.Run("cold-build", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := range min(b.N, 3) {
			s := e.service(b, accounts.GAL{AddressBook: book, Search: accounts.GALSearchLocal}, Options{})
			t0 := time.Now()
			if _, err := s.SearchGAL(ctxT(b), acct(e.user), "d", q(i)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})
}
