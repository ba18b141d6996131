// Command idlebridge is the ActiveSync bridge: `idlebridge serve` runs it,
// `idlebridge check` validates the configuration and the users directory,
// `idlebridge version` prints the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	// Embedded zone data (~450 KB): calendar conversion resolves IANA zones
	// even in containers without /usr/share/zoneinfo (bridge/caltz).
	_ "time/tzdata"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stderr)
	case "check":
		if len(args) > 1 && !strings.HasPrefix(args[len(args)-1], "-") && strings.Contains(args[len(args)-1], "@") {
			err = cmdCheckUser(ctx, args[1:], stdout) // check <user>
		} else {
			err = cmdCheck(ctx, args[1:], stdout)
		}
	case "check-user":
		err = cmdCheckUser(ctx, args[1:], stdout)
	case "devices":
		err = cmdDevices(ctx, args[1:], stdout)
	case "healthcheck":
		err = cmdHealthcheck(ctx, args[1:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "idlebridge", version)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "idlebridge: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "idlebridge:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: idlebridge <command> [flags]

commands:
  serve                 run the bridge
  check                 validate the configuration and the users directory
  check <address>       try a user's IMAP, SMTP, CalDAV and CardDAV for real
                        (same as check-user)
  devices ...           list, show, resync, wipe or remove devices
  healthcheck           GET a health URL (the container's HEALTHCHECK)
  version               print the version

Every command takes --config FILE (default: $IDLEBRIDGE_CONFIG, else none);
every setting can also come from IDLEBRIDGE_* environment variables.
`)
}

// configFlag registers --config on fs.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", os.Getenv("IDLEBRIDGE_CONFIG"), "configuration file (YAML)")
}

// newLogger builds the process logger from the configuration.
func newLogger(c *Config, w io.Writer) (*slog.Logger, error) {
	level, err := c.Log.SlogLevel()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
