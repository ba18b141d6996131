package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run; JSON field names are stable for scripts.
type Report struct {
	Started     time.Time `json:"started"`
	Devices     int       `json:"devices"`
	Users       int       `json:"users"`
	Folders     int       `json:"folders_per_device"`
	TLS         bool      `json:"upstream_tls"`
	Store       string    `json:"store"`
	BridgeURL   string    `json:"bridge_url"` // space-separated with several instances
	Instances   int       `json:"instances"`  // bridge processes; every process figure is their sum
	NoFileLimit uint64    `json:"nofile_limit"`

	DevicesParked int     `json:"devices_parked"`
	DevicesFailed int     `json:"devices_failed"`
	SetupSeconds  float64 `json:"setup_seconds"` // first device start → all parked

	Deliveries          int              `json:"deliveries"`
	DeliveriesPerFolder map[string]int   `json:"deliveries_per_folder,omitempty"`
	DeliveryErrors      int              `json:"delivery_errors"`
	DeliverySeconds     float64          `json:"delivery_seconds"`
	RateRequested       float64          `json:"rate_requested"`
	AppendLatency       Latency          `json:"append_latency"`
	WakeExpected        int              `json:"wake_expected"`
	WakeSeen            int              `json:"wake_seen"` // woken (with a latency) + coalesced
	WakeCoalesced       int              `json:"wake_coalesced"`
	WakeMissed          int              `json:"wake_missed"`
	WakeLate            int              `json:"wake_late"` // woken after wake_timeout (also counted missed)
	WakeDuplicate       int              `json:"wake_duplicate"`
	UnknownMessages     int              `json:"unknown_messages"`
	Pings               int64            `json:"pings"`
	PingErrors          int64            `json:"ping_errors"`
	PingOtherStatus     map[string]int64 `json:"ping_other_status,omitempty"`
	SyncErrors          int64            `json:"sync_errors"`
	FirstError          string           `json:"first_error,omitempty"`

	Bridge             Latency  `json:"bridge_latency"`
	Baseline           *Latency `json:"baseline_latency,omitempty"`
	BaselineMissed     int      `json:"baseline_missed"`
	BaselineDuplicate  int      `json:"baseline_duplicate"`
	BaselineReconnects int64    `json:"baseline_reconnects"`
	// Overhead: bridge minus baseline at the same percentile, and the
	// ratio of the medians.
	OverheadMedianMs float64 `json:"overhead_median_ms"`
	OverheadP99Ms    float64 `json:"overhead_p99_ms"`
	RatioMedian      float64 `json:"ratio_median"`

	// Bridge process (absent with --url and no --bridge-pid).
	RSSBeforeMiB    float64 `json:"rss_before_mib,omitempty"`
	RSSParkedMiB    float64 `json:"rss_parked_mib,omitempty"`
	RSSEndMiB       float64 `json:"rss_end_mib,omitempty"`
	RSSPerDeviceKiB float64 `json:"rss_per_parked_device_kib,omitempty"`
	// Per user: what a town of one-phone users costs (the devices of a
	// user share its upstream connections and watchers).
	RSSPerUserKiB     float64  `json:"rss_per_user_kib,omitempty"`
	RSSIdlePerUserKiB float64  `json:"rss_idle_per_user_kib,omitempty"`
	UpstreamPerUser   float64  `json:"upstream_connections_per_user,omitempty"`
	GoroutinesPerUser *float64 `json:"goroutines_per_user,omitempty"`
	// The anonymous part of RSS (heap, stacks), without mapped files such
	// as the embedded store's bbolt file, whose pages the kernel may drop.
	AnonBeforeMiB    float64 `json:"rss_anon_before_mib,omitempty"`
	AnonParkedMiB    float64 `json:"rss_anon_parked_mib,omitempty"`
	AnonPerDeviceKiB float64 `json:"rss_anon_per_parked_device_kib,omitempty"`
	// The same after the idle measurement, all devices still parked.
	RSSIdleMiB            float64  `json:"rss_idle_mib,omitempty"`
	AnonIdleMiB           float64  `json:"rss_anon_idle_mib,omitempty"`
	RSSIdlePerDeviceKiB   float64  `json:"rss_idle_per_parked_device_kib,omitempty"`
	AnonIdlePerDeviceKiB  float64  `json:"rss_anon_idle_per_parked_device_kib,omitempty"`
	UpstreamConnsIdle     int      `json:"upstream_connections_idle,omitempty"`
	UpstreamIdlePerUser   float64  `json:"upstream_connections_idle_per_user,omitempty"`
	GoroutinesIdle        *float64 `json:"goroutines_idle,omitempty"`
	GoroutinesIdlePerUser *float64 `json:"goroutines_idle_per_user,omitempty"`
	ThreadsParked         int64    `json:"threads_parked,omitempty"`
	Goroutines            *float64 `json:"goroutines_parked,omitempty"` // from the metrics endpoint, when served
	UpstreamConns         int      `json:"upstream_connections_parked"`
	UpstreamConnsMetric   *float64 `json:"upstream_connections_metric,omitempty"`
	// RechecksByVersion and RechecksByUpstream count the parked devices'
	// mail re-checks from the first delivery to the end of the run, by
	// what decided them (idlebridge_push_rechecks_total); nil when the
	// bridge does not serve the metric.
	RechecksByVersion  *float64 `json:"rechecks_by_version,omitempty"`
	RechecksByUpstream *float64 `json:"rechecks_by_upstream,omitempty"`
	// UpstreamConnsPerInstance splits UpstreamConns by instance (several only).
	UpstreamConnsPerInstance []int   `json:"upstream_connections_parked_per_instance,omitempty"`
	IdleSeconds              float64 `json:"idle_measure_seconds,omitempty"`
	IdleCPUSeconds           float64 `json:"idle_cpu_seconds,omitempty"`
	IdleCPUPercent           float64 `json:"idle_cpu_percent,omitempty"` // of one core

	// Slowest lists the slowest bridge wake-ups, to tell one stuck user
	// from general slowness.
	Slowest []SlowWake `json:"slowest_wakes,omitempty"`
}

// SlowWake is one wake-up of the Slowest list.
type SlowWake struct {
	Delivery int       `json:"delivery"`
	User     int       `json:"user"`
	Device   int       `json:"device"`
	Appended time.Time `json:"appended"`
	Ms       float64   `json:"latency_ms"`
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteText prints the report as a table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	tlsNote := "plain IMAP"
	if r.TLS {
		tlsNote = "IMAPS"
	}
	row("devices / users", "%d / %d (%d parked, %d failed; store %s; %d folders pinged per device; %s upstream)",
		r.Devices, r.Users, r.DevicesParked, r.DevicesFailed, r.Store, max(r.Folders, 1), tlsNote)
	if r.Instances > 1 {
		row("bridge instances", "%d on one store; process figures below are their sums", r.Instances)
	}
	row("setup (start → all parked)", "%.1f s", r.SetupSeconds)
	row("deliveries", "%d in %.1f s (asked %.1f/s), %d errors; APPEND median %.1f ms", r.Deliveries, r.DeliverySeconds, r.RateRequested, r.DeliveryErrors, r.AppendLatency.Median)
	row("wake-ups expected / seen", "%d / %d (%d coalesced into an earlier wake's Sync)", r.WakeExpected, r.WakeSeen, r.WakeCoalesced)
	row("missed / late / duplicate", "%d / %d / %d", r.WakeMissed, r.WakeLate, r.WakeDuplicate)
	row("pings / errors / other status", "%d / %d / %s", r.Pings, r.PingErrors, statusList(r.PingOtherStatus))
	if r.SyncErrors > 0 || r.UnknownMessages > 0 {
		row("sync errors / unknown msgs", "%d / %d", r.SyncErrors, r.UnknownMessages)
	}
	fmt.Fprintln(tw, "latency (ms)\tn\tmedian\tp95\tp99\tmax")
	lat := func(name string, l Latency) {
		fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", name, l.N, l.Median, l.P95, l.P99, l.Max)
	}
	lat("bridge (APPEND OK → Ping 2)", r.Bridge)
	if r.Baseline != nil {
		lat("baseline (APPEND OK → IDLE EXISTS)", *r.Baseline)
		row("baseline missed / duplicate / reconnects", "%d / %d / %d", r.BaselineMissed, r.BaselineDuplicate, r.BaselineReconnects)
		row("overhead median / p99", "%+.1f ms / %+.1f ms (median ratio %.2f×)", r.OverheadMedianMs, r.OverheadP99Ms, r.RatioMedian)
	}
	if r.RSSParkedMiB > 0 {
		row("bridge RSS before / parked / end", "%.1f / %.1f / %.1f MiB", r.RSSBeforeMiB, r.RSSParkedMiB, r.RSSEndMiB)
		row("RSS per parked device", "%.1f KiB", r.RSSPerDeviceKiB)
		row("  of which anonymous (heap, stacks)", "%.1f KiB (%.1f → %.1f MiB)", r.AnonPerDeviceKiB, r.AnonBeforeMiB, r.AnonParkedMiB)
		if r.RSSIdleMiB > 0 {
			row("RSS per parked device after idle", "%.1f KiB (%.1f MiB; anonymous %.1f KiB, %.1f MiB)",
				r.RSSIdlePerDeviceKiB, r.RSSIdleMiB, r.AnonIdlePerDeviceKiB, r.AnonIdleMiB)
		}
		g := "n/a (no metrics endpoint)"
		if r.Goroutines != nil {
			g = fmt.Sprintf("%.0f", *r.Goroutines)
		}
		row("goroutines / threads (parked)", "%s / %d", g, r.ThreadsParked)
		row("upstream IMAP connections (parked)", "%d ESTABLISHED (from /proc), %.2f per user", r.UpstreamConns, r.UpstreamPerUser)
		if r.RechecksByVersion != nil && r.RechecksByUpstream != nil {
			row("re-checks during deliveries", "%.0f by version / %.0f upstream", *r.RechecksByVersion, *r.RechecksByUpstream)
		}
		if len(r.UpstreamConnsPerInstance) > 1 {
			row("  by instance", "%v", r.UpstreamConnsPerInstance)
		}
		pu := fmt.Sprintf("%.1f KiB", r.RSSPerUserKiB)
		if r.RSSIdlePerUserKiB > 0 {
			pu += fmt.Sprintf(" (after idle %.1f KiB)", r.RSSIdlePerUserKiB)
		}
		if r.GoroutinesPerUser != nil {
			pu += fmt.Sprintf("; %.1f goroutines per user above the start", *r.GoroutinesPerUser)
		}
		row("RSS per user", "%s", pu)
		if r.UpstreamConnsIdle > 0 {
			at := fmt.Sprintf("%d ESTABLISHED, %.2f per user", r.UpstreamConnsIdle, r.UpstreamIdlePerUser)
			if r.GoroutinesIdle != nil && r.GoroutinesIdlePerUser != nil {
				at += fmt.Sprintf("; %.0f goroutines, %.1f per user above the start", *r.GoroutinesIdle, *r.GoroutinesIdlePerUser)
			}
			row("at rest (after idle)", "%s", at)
		}
		if r.IdleSeconds > 0 {
			row("idle CPU", "%.2f s in %.0f s = %.2f%% of one core", r.IdleCPUSeconds, r.IdleSeconds, r.IdleCPUPercent)
		}
	}
	if len(r.Slowest) > 0 {
		var parts []string
		for _, w := range r.Slowest[:min(len(r.Slowest), 5)] {
			parts = append(parts, fmt.Sprintf("#%d/u%d/d%d %.0fms", w.Delivery, w.User, w.Device, w.Ms))
		}
		row("slowest wakes (delivery/user/device)", "%s", strings.Join(parts, ", "))
	}
	if r.FirstError != "" {
		row("first error", "%s", r.FirstError)
	}
	return tw.Flush()
}

func statusList(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// fill computes the delivery figures from the recorder.
func (r *Report) fill(rec *recorder, mailboxes []string, wakeTimeout time.Duration, withBaseline bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var bridge, base, appendLat []time.Duration
	var slow []SlowWake
	for _, d := range rec.deliveries {
		if d.failed {
			r.DeliveryErrors++
			continue
		}
		appendLat = append(appendLat, d.done.Sub(d.started))
		if d.folder < len(mailboxes) {
			if r.DeliveriesPerFolder == nil {
				r.DeliveriesPerFolder = map[string]int{}
			}
			r.DeliveriesPerFolder[mailboxes[d.folder]]++
		}
		r.WakeExpected += d.deviceWant
		r.WakeCoalesced += len(d.coalesced)
		seen := len(d.coalesced)
		for dev, at := range d.wakes {
			l := at.Sub(d.done)
			slow = append(slow, SlowWake{Delivery: d.seq, User: d.user, Device: dev, Appended: d.done, Ms: ms(l)})
			if l > wakeTimeout {
				r.WakeLate++
				continue
			}
			seen++
			bridge = append(bridge, l)
		}
		r.WakeSeen += seen
		r.WakeMissed += d.deviceWant - seen
		if withBaseline {
			if d.baseSeen {
				base = append(base, d.baseline.Sub(d.done))
			} else {
				r.BaselineMissed++
			}
		}
	}
	sort.Slice(slow, func(i, j int) bool { return slow[i].Ms > slow[j].Ms })
	r.Slowest = slow[:min(len(slow), 10)]
	r.WakeDuplicate = rec.duplicates
	r.UnknownMessages = rec.unknown
	r.BaselineDuplicate = rec.baseDuplicates
	r.AppendLatency = summarize(appendLat)
	r.Bridge = summarize(bridge)
	if withBaseline {
		b := summarize(base)
		r.Baseline = &b
		r.OverheadMedianMs = round3(r.Bridge.Median - b.Median)
		r.OverheadP99Ms = round3(r.Bridge.P99 - b.P99)
		if b.Median > 0 {
			r.RatioMedian = round3(r.Bridge.Median / b.Median)
		}
	}
}

func round3(f float64) float64 { return float64(int64(f*1000+copysign(0.5, f))) / 1000 }

func copysign(a, b float64) float64 {
	if b < 0 {
		return -a
	}
	return a
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
