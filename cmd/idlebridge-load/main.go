// Command idlebridge-load measures push: it starts an idlebridge (or uses
// a running one), parks many simulated ActiveSync devices in Ping,
// delivers mail to their users by IMAP APPEND, and reports how fast the
// devices are woken — next to a plain IMAP IDLE client as the baseline —
// and what the parked devices cost the bridge in memory, CPU and upstream
// connections.
//
//	source .testenv/env && go run ./cmd/idlebridge-load --devices 1000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/idlebridge/idlebridge/internal/loadtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, jsonPath, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintln(stderr, "idlebridge-load:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest.Run(ctx, o)
	if rep != nil {
		_ = rep.WriteText(stdout)
		if jsonPath != "" {
			if werr := rep.WriteJSON(jsonPath); werr != nil {
				fmt.Fprintln(stderr, "idlebridge-load: writing the JSON report:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "idlebridge-load:", err)
		return 1
	}
	if rep.WakeMissed > 0 || rep.WakeDuplicate > 0 || rep.DevicesFailed > 0 {
		return 3 // ran, but push was not clean
	}
	return 0
}

// parseFlags turns the command line into options; the IMAP server and
// password default to the test environment's.
func parseFlags(args []string, stderr io.Writer) (loadtest.Options, string, error) {
	var o loadtest.Options
	fs := flag.NewFlagSet("idlebridge-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: idlebridge-load [flags]

Starts an idlebridge subprocess (or uses --url), parks --devices simulated
devices in Ping spread over --users users of an IMAP server, delivers
--deliveries messages by IMAP APPEND at --rate per second, and reports the
push latency (APPEND OK → Ping Status 2) next to a plain IMAP IDLE client
(APPEND OK → EXISTS), missed and duplicate wake-ups, the bridge's RSS per
parked device, upstream connections and idle CPU.

Exit status: 0 clean, 1 error, 2 usage, 3 missed/duplicate wake-ups or
failed devices.

flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.BridgeBin, "bridge-bin", "", "idlebridge binary to start (default: go build the module's cmd/idlebridge into a temp dir)")
	fs.StringVar(&o.URL, "url", "", "use a running bridge at this base URL instead of starting one (needs --user-prefix)")
	fs.IntVar(&o.BridgePID, "bridge-pid", 0, "with --url: pid of the bridge, for RSS/CPU/connection figures")
	fs.StringVar(&o.Redis, "redis", "", "redis:// URL for the started bridge's store (default: embedded store in a temp data dir)")
	fs.IntVar(&o.Instances, "instances", 1, "bridge processes to start on the one --redis store, users spread over them round robin (one process's RLIMIT_NOFILE caps it at about half as many users as descriptors)")
	fs.BoolVar(&o.Metrics, "metrics", true, "give the started bridge a metrics listener and read go_goroutines from it")
	fs.StringVar(&o.WorkDir, "work-dir", "", "directory for the generated config, users, data and bridge log (default: a temp dir, removed afterwards)")
	fs.BoolVar(&o.KeepWork, "keep", false, "keep the temp work dir (bridge log) after the run")
	fs.StringVar(&o.IMAPAddr, "imap", os.Getenv("IDLEBRIDGE_TEST_IMAP_ADDR"), "IMAP server host:port, plain IMAP (default $IDLEBRIDGE_TEST_IMAP_ADDR)")
	fs.StringVar(&o.Password, "password", os.Getenv("IDLEBRIDGE_TEST_IMAP_PASSWORD"), "password of every user (default $IDLEBRIDGE_TEST_IMAP_PASSWORD)")
	fs.StringVar(&o.SMTPAddr, "smtp", os.Getenv("IDLEBRIDGE_TEST_SMTP_ADDR"), "SMTP host:port written into the user files, which require one; nothing is sent (default $IDLEBRIDGE_TEST_SMTP_ADDR, else 127.0.0.1:25)")
	fs.StringVar(&o.UserPrefix, "user-prefix", "", "users are <prefix><n>@<domain>, n from 0 (default: load-<random>-)")
	fs.StringVar(&o.UserDomain, "user-domain", "example.test", "domain of the user addresses")
	fs.IntVar(&o.Devices, "devices", 100, "simulated devices")
	fs.IntVar(&o.Users, "users", 0, "users the devices are spread over, round robin (default devices/10, at least 1; --users 1000 --devices 1300 gives 1.3 devices per user)")
	fs.IntVar(&o.Folders, "folders", 1, "folders each device pings, 1-3 (INBOX, Sent, Archive); deliveries go to one of them at random")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the random folder choice")
	fs.BoolVar(&o.TLS, "tls", false, "talk implicit TLS to the provider: --imap is then the IMAPS address (default $IDLEBRIDGE_TEST_IMAPS_ADDR)")
	fs.StringVar(&o.CAFile, "ca", "", "with --tls: PEM CA the provider's certificate is signed by (default $IDLEBRIDGE_TEST_TLS_CA)")
	fs.DurationVar(&o.Heartbeat, "heartbeat", 600*time.Second, "Ping HeartbeatInterval")
	fs.DurationVar(&o.Ramp, "ramp", 0, "spread device start-up over this long (default 2ms per device)")
	fs.DurationVar(&o.Settle, "settle", 0, "wait after all devices parked before measuring (default 2s + 0.5ms per device, at least 35s: the set-up's upstream sessions log out after 20-30s)")
	fs.IntVar(&o.Deliveries, "deliveries", 50, "messages to deliver")
	fs.Float64Var(&o.Rate, "rate", 0, "deliveries per second, round robin over the users (default min(5, users/2): one delivery per user every 2 s at most, as Dovecot batches IDLE notices for 500 ms)")
	fs.DurationVar(&o.WakeTimeout, "wake-timeout", 30*time.Second, "a device not woken this long after the APPEND counts as missed")
	fs.DurationVar(&o.IdleMeasure, "idle-measure", 30*time.Second, "measure the bridge's CPU this long with everything parked (0: skip)")
	fs.BoolVar(&o.NoBaseline, "no-baseline", false, "skip the plain IMAP IDLE baseline")
	fs.BoolVar(&o.PProf, "pprof", false, "serve the started bridge's Go profiles on its metrics listener (/debug/pprof/; its address is in the work dir's config)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "idlebridge-load: unexpected argument %q\n", fs.Arg(0))
		return o, "", errors.New("unexpected argument")
	}
	rampSet, imapSet := false, false
	fs.Visit(func(f *flag.Flag) {
		rampSet = rampSet || f.Name == "ramp"
		imapSet = imapSet || f.Name == "imap"
	})
	if o.TLS {
		if !imapSet {
			o.IMAPAddr = os.Getenv("IDLEBRIDGE_TEST_IMAPS_ADDR")
		}
		if o.CAFile == "" {
			o.CAFile = os.Getenv("IDLEBRIDGE_TEST_TLS_CA")
		}
	}
	if !rampSet {
		o.Ramp = time.Duration(o.Devices) * 2 * time.Millisecond
	}
	if !*quiet {
		o.Log = stderr
	}
	return o, *jsonPath, nil
}
