package loadtest

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"plain", "123 (idlebridge) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0", 3 * time.Second, true},
		{"name with spaces and parens", "7 (a b) c)) R 1 2 3 4 5 6 7 8 9 10 11 22 0 0", 330 * time.Millisecond, true},
		{"short", "7 (x) R 1 2", 0, false},
		{"no name", "7 x R", 0, false},
		{"negative", "7 (x) R 1 2 3 4 5 6 7 8 9 10 -1 1 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.in))
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("got %v, %v; want %v ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseTCPLine(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want tcpEntry
		ok   bool
	}{
		{"established", "   5: 0100007F:A1B2 0100007F:9B7D 01 00000000:00000000 02:000AF4A1 00000000  1000        0 4242 2 0000000000000000 20 4 30 10 -1",
			tcpEntry{remotePort: 0x9B7D, state: 1, inode: 4242}, true},
		{"listen", "   0: 0100007F:9B7D 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 17 1 0",
			tcpEntry{remotePort: 0, state: 10, inode: 17}, true},
		{"header", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", tcpEntry{}, false},
		{"garbage", "x y z", tcpEntry{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTCPLine(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tidlebridge\nVmRSS:\t   20480 kB\nThreads:\t9\n"
	if got, err := parseStatusKB([]byte(status), "VmRSS:"); err != nil || got != 20480*1024 {
		t.Errorf("VmRSS = %d, %v", got, err)
	}
	if got, err := parseStatusKB([]byte(status), "Threads:"); err != nil || got/1024 != 9 {
		t.Errorf("Threads = %d, %v", got, err)
	}
	if _, err := parseStatusKB([]byte(status), "VmSwap:"); err == nil {
		t.Error("missing key: no error")
	}
}

func TestParseMetrics(t *testing.T) {
	text := "# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 43\nidlebridge_upstream_connections 7\nidlebridge_requests_total{command=\"Ping\"} 3\nbad line\n"
	got, err := parseMetrics(strings.NewReader(text), []string{"go_goroutines", "idlebridge_upstream_connections", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	if got["go_goroutines"] != 43 || got["idlebridge_upstream_connections"] != 7 || len(got) != 2 {
		t.Errorf("got %v", got)
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.N != 100 || l.Median != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 || l.Min != 1 {
		t.Errorf("got %+v", l)
	}
	if one := summarize([]time.Duration{7 * time.Millisecond}); one.Median != 7 || one.P99 != 7 {
		t.Errorf("one sample: %+v", one)
	}
	if none := summarize(nil); none.N != 0 {
		t.Errorf("none: %+v", none)
	}
}

// TestRecorderAttribution checks how wake-ups are tied to deliveries.
func TestRecorderAttribution(t *testing.T) {
	t0 := time.Now()
	r := newRecorder()
	for seq := range 3 {
		d := r.startDelivery(seq, 0, 0, 2, t0)
		r.finishDelivery(d, t0.Add(time.Millisecond), true)
	}
	lost := r.startDelivery(3, 1, 0, 1, t0) // user 1's one device never hears of it
	r.finishDelivery(lost, t0.Add(time.Millisecond), true)
	failed := r.startDelivery(4, 1, 0, 1, t0) // APPEND failed: expects nothing
	r.finishDelivery(failed, t0.Add(time.Millisecond), false)
	r.wake(0, t0.Add(10*time.Millisecond), []int{1, 0}, 0) // woken by 0, 1 came along
	r.wake(0, t0.Add(20*time.Millisecond), []int{2}, 1)    // woken by 2, plus a foreign message
	r.wake(0, t0.Add(30*time.Millisecond), nil, 0)         // spurious
	r.wake(1, t0.Add(40*time.Millisecond), []int{0, 1, 2}, 0)
	r.wake(1, t0.Add(50*time.Millisecond), []int{2}, 0) // seen already
	r.baselineChange(0, 0, t0.Add(5*time.Millisecond))
	r.baselineChange(0, 0, t0.Add(6*time.Millisecond))

	var rep Report
	rep.fill(r, []string{"INBOX"}, time.Second, true)
	checks := []struct {
		name      string
		got, want int
	}{
		{"expected", rep.WakeExpected, 7},
		{"seen", rep.WakeSeen, 6},
		{"coalesced", rep.WakeCoalesced, 3},
		{"missed", rep.WakeMissed, 1},
		{"delivery errors", rep.DeliveryErrors, 1},
		{"duplicates", rep.WakeDuplicate, 2},
		{"unknown", rep.UnknownMessages, 1},
		{"bridge n", rep.Bridge.N, 3},
		{"baseline n", rep.Baseline.N, 2},
		{"baseline missed", rep.BaselineMissed, 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestValidateInstances(t *testing.T) {
	base := Options{IMAPAddr: "127.0.0.1:1143", Password: "pw", Devices: 4, Users: 4}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"one instance, embedded", func(o *Options) {}, ""},
		{"two on redis", func(o *Options) { o.Instances, o.Redis = 2, "redis://127.0.0.1:6379/0" }, ""},
		{"two embedded", func(o *Options) { o.Instances = 2 }, "needs --redis"},
		{"two with url", func(o *Options) {
			o.Instances, o.Redis, o.URL, o.UserPrefix = 2, "", "http://127.0.0.1:1", "p-"
		}, "not to --url"},
		{"more than users", func(o *Options) { o.Instances, o.Redis = 5, "redis://127.0.0.1:6379/0" }, "more than the 4 users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			err := o.WithDefaults().Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
