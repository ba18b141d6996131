package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Run performs one load run and returns its report. The report is
// returned (partially filled) along with an error when the run could not
// finish.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
		}
	}
	nofile, err := raiseNoFile()
	if err != nil {
		return nil, fmt.Errorf("raising RLIMIT_NOFILE: %w", err)
	}
	if need := uint64(o.Devices) + 256; nofile < need {
		logf("warning: RLIMIT_NOFILE is %d, below the ~%d descriptors %d devices need", nofile, need, o.Devices)
	}
	var rb [3]byte
	_, _ = rand.Read(rb[:])
	runID := hex.EncodeToString(rb[:])
	if o.UserPrefix == "" {
		o.UserPrefix = "load-" + runID + "-"
	}
	_, imapPortStr, err := net.SplitHostPort(o.IMAPAddr)
	if err != nil {
		return nil, fmt.Errorf("imap address %q: %w", o.IMAPAddr, err)
	}
	imapPort, _ := strconv.Atoi(imapPortStr)

	rep := &Report{Started: time.Now(), Devices: o.Devices, Users: o.Users, Folders: o.Folders, TLS: o.TLS,
		NoFileLimit: nofile, RateRequested: o.Rate, Store: "embedded"}
	if o.Redis != "" {
		rep.Store = "redis"
	}

	// The bridge under test: one process, or --instances on one Redis.
	in := &instances{}
	if o.URL == "" {
		work := o.WorkDir
		if work == "" {
			if work, err = os.MkdirTemp("", "idlebridge-load-"); err != nil {
				return nil, err
			}
			if !o.KeepWork {
				defer os.RemoveAll(work)
			}
		}
		bin := o.BridgeBin
		if bin == "" {
			logf("building the bridge")
			if bin, err = buildBridge(ctx, work); err != nil {
				return nil, err
			}
		}
		for i := range o.Instances {
			dir := work
			if o.Instances > 1 {
				dir = filepath.Join(work, fmt.Sprintf("instance%d", i))
			}
			bp, err := startBridge(ctx, bin, dir, o)
			if err != nil {
				return nil, err
			}
			defer bp.stop()
			in.urls, in.pids, in.metrics = append(in.urls, bp.url), append(in.pids, bp.pid()), append(in.metrics, bp.metricsAddr)
			logf("bridge pid %d on %s (log %s)", bp.pid(), bp.url, bp.logPath)
			defer func() {
				if err, gone := bp.exited(); gone {
					logf("the bridge pid %d had exited: %v; log tail:\n%s", bp.pid(), err, tail(bp.logPath, 2000))
				}
			}()
		}
	} else {
		in.urls, in.pids, in.metrics = []string{o.URL}, []int{o.BridgePID}, []string{""}
		rep.Store = "external"
	}
	rep.BridgeURL = strings.Join(in.urls, " ")
	rep.Instances = len(in.urls)
	var startGoroutines *float64
	if in.scrapable() {
		if m, err := in.scrape(ctx, "go_goroutines"); err == nil {
			if v, ok := m["go_goroutines"]; ok {
				startGoroutines = &v
			}
		}
	}
	measured := in.measurable()
	if measured {
		time.Sleep(500 * time.Millisecond) // let start-up allocations settle
		if rss, anon, err := in.mem(); err == nil {
			rep.RSSBeforeMiB, rep.AnonBeforeMiB = mib(rss), mib(anon)
		}
	}

	// Devices.
	rec := newRecorder()
	devCtx, stopDevices := context.WithCancel(ctx)
	defer stopDevices()
	f := &fleet{o: o, in: in, http: newHTTPClient(o.Devices), rec: rec, runID: runID, ready: make([]atomic.Int32, o.Users)}
	var devWG sync.WaitGroup
	f.parkedWG.Add(o.Devices)
	setupStart := time.Now()
	logf("starting %d devices over %d users (ramp %v)", o.Devices, o.Users, o.Ramp)
	go func() {
		step := o.Ramp / time.Duration(o.Devices)
		for dev := range o.Devices {
			if devCtx.Err() != nil {
				f.parkedWG.Add(dev - o.Devices) // never started
				return
			}
			devWG.Add(1)
			go func() {
				defer devWG.Done()
				f.run(devCtx, dev)
			}()
			if step > 0 {
				sleepCtx(devCtx, step)
			}
		}
	}()
	parkedCh := make(chan struct{})
	go func() { f.parkedWG.Wait(); close(parkedCh) }()
	// Every device request is bounded only by the run's context; a bridge
	// that stops answering must not hang the tool.
	setupLimit := o.Ramp + 5*time.Minute
	select {
	case <-parkedCh:
	case <-ctx.Done():
		return rep, ctx.Err()
	case <-time.After(setupLimit):
		stopDevices()
		devWG.Wait()
		rep.FirstError, _ = f.firstErr.Load().(string)
		return rep, fmt.Errorf("devices not all parked after %v (%d failed so far; first error: %s)", setupLimit, f.failed.Load(), rep.FirstError)
	}
	defer func() { stopDevices(); devWG.Wait() }()
	rep.SetupSeconds = round3(time.Since(setupStart).Seconds())
	rep.DevicesFailed = int(f.failed.Load())
	rep.DevicesParked = o.Devices - rep.DevicesFailed
	logf("%d devices parked, %d failed, in %.1f s; settling %v", rep.DevicesParked, rep.DevicesFailed, rep.SetupSeconds, o.Settle)
	if rep.DevicesParked == 0 {
		rep.FirstError, _ = f.firstErr.Load().(string)
		return rep, fmt.Errorf("no device parked: %s", rep.FirstError)
	}
	sleepCtx(ctx, o.Settle)

	if measured {
		if rss, anon, err := in.mem(); err == nil {
			rep.RSSParkedMiB, rep.AnonParkedMiB = mib(rss), mib(anon)
			rep.RSSPerDeviceKiB = round3((rep.RSSParkedMiB - rep.RSSBeforeMiB) * 1024 / float64(rep.DevicesParked))
			rep.RSSPerUserKiB = round3((rep.RSSParkedMiB - rep.RSSBeforeMiB) * 1024 / float64(o.Users))
			rep.AnonPerDeviceKiB = round3((rep.AnonParkedMiB - rep.AnonBeforeMiB) * 1024 / float64(rep.DevicesParked))
		}
		rep.ThreadsParked, _ = in.threads()
		if each, err := in.upstreamConnsEach(imapPort); err == nil {
			n := 0
			for _, k := range each {
				n += k
			}
			if len(each) > 1 {
				rep.UpstreamConnsPerInstance = each
			}
			rep.UpstreamConns = n
			rep.UpstreamPerUser = round3(float64(n) / float64(o.Users))
		} else {
			logf("counting upstream connections: %v", err)
		}
	}
	if in.scrapable() {
		if m, err := in.scrape(ctx, "go_goroutines", "idlebridge_upstream_connections"); err == nil {
			if v, ok := m["go_goroutines"]; ok {
				rep.Goroutines = &v
				if startGoroutines != nil {
					pu := round3((v - *startGoroutines) / float64(o.Users))
					rep.GoroutinesPerUser = &pu
				}
			}
			if v, ok := m["idlebridge_upstream_connections"]; ok {
				rep.UpstreamConnsMetric = &v
			}
		} else {
			logf("metrics endpoint not answering (%v): goroutines n/a", err)
		}
	}

	var bgWG sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(ctx)
	defer func() { stopBG(); bgWG.Wait() }()
	var base *baseline
	if !o.NoBaseline {
		base = &baseline{o: o, rec: rec}
		if err := base.start(bgCtx, &bgWG); err != nil {
			return rep, err
		}
		logf("baseline IDLE clients ready on %d users", targets(o))
	}

	if measured && o.IdleMeasure > 0 {
		logf("measuring idle CPU for %v", o.IdleMeasure)
		c0, err0 := in.cpu()
		t0 := time.Now()
		sleepCtx(ctx, o.IdleMeasure)
		c1, err1 := in.cpu()
		if err := errors.Join(err0, err1); err == nil {
			el := time.Since(t0).Seconds()
			rep.IdleSeconds = round3(el)
			rep.IdleCPUSeconds = round3((c1 - c0).Seconds())
			rep.IdleCPUPercent = round3(100 * (c1 - c0).Seconds() / el)
		}
		// Memory again, in the steady state: the set-up burst's garbage
		// has been collected (Go forces a GC every 2 minutes at the
		// latest) and returned to the OS.
		if rss, anon, err := in.mem(); err == nil {
			rep.RSSIdleMiB, rep.AnonIdleMiB = round3(mib(rss)), round3(mib(anon))
			rep.RSSIdlePerDeviceKiB = round3((mib(rss) - rep.RSSBeforeMiB) * 1024 / float64(rep.DevicesParked))
			rep.RSSIdlePerUserKiB = round3((mib(rss) - rep.RSSBeforeMiB) * 1024 / float64(o.Users))
			rep.AnonIdlePerDeviceKiB = round3((mib(anon) - rep.AnonBeforeMiB) * 1024 / float64(rep.DevicesParked))
		}
		// Connections and goroutines at rest: the sync path's pooled
		// sessions of the set-up have been logged out by now
		// (upstream.session_idle), so what remains is the push cost.
		if n, err := in.upstreamConns(imapPort); err == nil {
			rep.UpstreamConnsIdle = n
			rep.UpstreamIdlePerUser = round3(float64(n) / float64(o.Users))
		}
		if in.scrapable() {
			if m, err := in.scrape(ctx, "go_goroutines"); err == nil {
				if v, ok := m["go_goroutines"]; ok {
					rep.GoroutinesIdle = &v
					if startGoroutines != nil {
						pu := round3((v - *startGoroutines) / float64(o.Users))
						rep.GoroutinesIdlePerUser = &pu
					}
				}
			}
		}
	}

	// Deliveries.
	dl, err := newDeliverer(ctx, o, rec, f.subject)
	if err != nil {
		return rep, err
	}
	defer dl.close()
	rechecks := func() map[string]float64 {
		if !in.scrapable() {
			return nil
		}
		m, err := in.scrape(ctx, rechecksVersion, rechecksUpstream)
		if err != nil {
			return nil
		}
		return m
	}
	rc0 := rechecks()
	logf("delivering %d messages at %.1f/s", o.Deliveries, o.Rate)
	dStart := time.Now()
	dl.run(ctx, func(u int) int { return int(f.ready[u].Load()) })
	rep.Deliveries = o.Deliveries
	rep.DeliverySeconds = round3(time.Since(dStart).Seconds())

	// Wait for the wake-ups, up to WakeTimeout after the last APPEND.
	deadline := time.Now().Add(o.WakeTimeout)
	for !rec.complete(base != nil) && time.Now().Before(deadline) && ctx.Err() == nil {
		sleepCtx(ctx, 50*time.Millisecond)
	}
	// A short grace for duplicate wake-ups to show up.
	sleepCtx(ctx, 500*time.Millisecond)
	if measured {
		if rss, err := in.rss(); err == nil {
			rep.RSSEndMiB = mib(rss)
		}
	}
	if rc1 := rechecks(); len(rc1) > 0 {
		// A bridge without the metric (an older build) has neither; a
		// label never counted yet is absent, that is 0.
		v, u := rc1[rechecksVersion]-rc0[rechecksVersion], rc1[rechecksUpstream]-rc0[rechecksUpstream]
		rep.RechecksByVersion, rep.RechecksByUpstream = &v, &u
	}
	rep.Pings, rep.PingErrors, rep.SyncErrors = f.pings.Load(), f.pingErrs.Load(), f.syncErrs.Load()
	rep.PingOtherStatus = f.pingStatuses()
	rep.FirstError, _ = f.firstErr.Load().(string)
	if base != nil {
		rep.BaselineReconnects = base.reconnects.Load()
	}
	rep.fill(rec, o.mailboxes(), o.WakeTimeout, base != nil)
	rep.RSSBeforeMiB, rep.RSSParkedMiB, rep.RSSEndMiB = round3(rep.RSSBeforeMiB), round3(rep.RSSParkedMiB), round3(rep.RSSEndMiB)
	rep.AnonBeforeMiB, rep.AnonParkedMiB = round3(rep.AnonBeforeMiB), round3(rep.AnonParkedMiB)
	logf("done")
	return rep, ctx.Err()
}

// The re-check counters' samples (bridge/mail Recheck).
const (
	rechecksVersion  = `idlebridge_push_rechecks_total{by="version"}`
	rechecksUpstream = `idlebridge_push_rechecks_total{by="upstream"}`
)
