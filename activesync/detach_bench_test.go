package activesync_test

import (
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// collectPinger parks every Ping and keeps only its callback.
type collectPinger struct {
	*fakeBackend
	mu    sync.Mutex
	dones []func([]string, error)
}

func (p *collectPinger) Ping(ctx context.Context, acct activesync.Account, dev string, fs []activesync.PingFolder, hb time.Duration,
	done func([]string, error)) (func(), error) {
	p.mu.Lock()
	p.dones = append(p.dones, done)
	p.mu.Unlock()
	return func() {}, nil
}

func (p *collectPinger) take() []func([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.dones
	p.dones = nil
	return d
}

func (p *collectPinger) parked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.dones)
}

// BenchmarkParkedPing parks 2 000 Pings over real loopback connections and
// reports what the front holds per parked Ping: live heap plus goroutine
// stacks after a GC (the test's raw client sockets, ~0.3 KB each, count
// too), and goroutines. The Pinger keeps only the callback.
//
//	go test -run - -bench ParkedPing -benchtime 3x ./activesync/
func BenchmarkParkedPing(b *testing.B) {
	const n = 2000
	for _, mode := range []string{"in-handler", "detached"} {
		b.Run(mode, func(b *testing.B) {
			p := &collectPinger{fakeBackend: newFakeBackend()}
			url, _, _ := serveDetaching(b, p, mode == "detached")
			c := provisioned(b, url)
			body, err := wbxml.Encode(pingReq("300", "5"))
			if err != nil {
				b.Fatal(err)
			}
			req := rawRequest("Ping", c.PolicyKey, body, "")
			addr := strings.TrimPrefix(url, "http://")
			var bytesPer, goroutinesPer float64
			settle := func(base int) {
				for i := 0; i < 400 && runtime.NumGoroutine() > base; i++ {
					time.Sleep(5 * time.Millisecond)
				}
			}
			base := runtime.NumGoroutine()
			for range b.N {
				settle(base)
				runtime.GC() // twice: sync.Pool caches survive one
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				g0 := runtime.NumGoroutine()
				conns := make([]net.Conn, 0, n)
				for range n {
					conn, err := net.Dial("tcp", addr)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.WriteString(conn, req); err != nil {
						b.Fatal(err)
					}
					conns = append(conns, conn)
				}
				for p.parked() < n {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(200 * time.Millisecond) // detached handlers return
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&m1)
				bytesPer += float64(int64(m1.HeapAlloc+m1.StackInuse)-int64(m0.HeapAlloc+m0.StackInuse)) / n
				goroutinesPer += float64(runtime.NumGoroutine()-g0) / n
				for _, done := range p.take() {
					done(nil, nil)
				}
				for _, conn := range conns {
					_ = conn.Close()
				}
			}
			b.ReportMetric(bytesPer/float64(b.N), "B/parked")
			b.ReportMetric(goroutinesPer/float64(b.N), "goroutines/parked")
		})
	}
}
