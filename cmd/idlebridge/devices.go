package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// errLocked explains a busy embedded store: bbolt allows one process per
// file, and the running server is that process. With Redis the admin
// commands work while the server runs.
var errLocked = errors.New("the server is running on this data directory; stop it or use Redis")

const devicesUsage = `usage: idlebridge devices <command> [--config FILE] [args]

commands:
  list [user]                         devices of one user, or of everyone
  show <user> <device>                one device: information, collections, sync keys
  resync <user> <device> [collection] make the device sync one collection (or all
                                      its folders; --hierarchy also the folder list)
                                      again from scratch
  wipe <user> <device> [--yes]        ask the device to wipe itself on its next request
  remove <user> <device>              forget the device and all its sync state

With the embedded store these work only while the server is stopped; with
Redis they work live.
`

// cmdDevices is `idlebridge devices ...`, the admin view of the store.
func cmdDevices(ctx context.Context, args []string, out io.Writer) error {
	return devicesMain(ctx, args, os.Stdin, out)
}

func devicesMain(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(out, devicesUsage)
		if len(args) == 0 {
			return errors.New("devices: missing command")
		}
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("devices "+sub, flag.ContinueOnError)
	fs.SetOutput(out)
	cfgPath := configFlag(fs)
	yes := fs.Bool("yes", false, "wipe: do not ask for confirmation")
	hierarchy := fs.Bool("hierarchy", false, "resync: also reset the folder list (the device's next FolderSync starts over)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string][2]int{ // positional argument count: min, max
		"list": {0, 1}, "show": {2, 2}, "resync": {2, 3}, "wipe": {2, 2}, "remove": {2, 2},
	}
	n, ok := want[sub]
	if !ok {
		fmt.Fprint(out, devicesUsage)
		return fmt.Errorf("devices: unknown command %q", sub)
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		fmt.Fprint(out, devicesUsage)
		return fmt.Errorf("devices %s: wrong number of arguments", sub)
	}
	if len(pos) > 0 {
		pos[0] = strings.ToLower(pos[0]) // addresses are stored lower-cased
	}
	for _, p := range pos[:min(len(pos), 2)] {
		if p == state.UserScope || strings.HasPrefix(p, "~") {
			return fmt.Errorf("devices %s: %q is internal state, not a device", sub, p)
		}
	}

	cfg, err := LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	store, err := openAdminStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	switch sub {
	case "list":
		return devicesList(ctx, store, pos, out)
	case "show":
		return devicesShow(ctx, store, pos[0], pos[1], out)
	case "resync":
		collection := ""
		if len(pos) == 3 {
			collection = pos[2]
		}
		return devicesResync(ctx, store, pos[0], pos[1], collection, *hierarchy, out)
	case "wipe":
		return devicesWipe(ctx, store, pos[0], pos[1], *yes, in, out)
	default: // remove
		return devicesRemove(ctx, store, pos[0], pos[1], out)
	}
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments ("devices wipe alice phone1 --yes").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openAdminStore opens the store the configuration names, turning the
// embedded engine's lock time-out into advice.
func openAdminStore(ctx context.Context, cfg *Config) (state.Store, error) {
	store, _, err := state.Open(ctx, state.Config{DataDir: cfg.DataDir, RedisURL: cfg.Redis.URL, DeviceTTL: cfg.Redis.DeviceTTL})
	if err != nil {
		// state.OpenEmbedded reports the bbolt lock time-out as "... is
		// locked by another idlebridge"; it has no sentinel error to match.
		if cfg.Redis.URL == "" && strings.Contains(err.Error(), "locked") {
			return nil, fmt.Errorf("%w (%s)", errLocked, cfg.DataDir)
		}
		return nil, err
	}
	return store, nil
}

// folderCollections counts a device's collections other than the folder
// hierarchy (collection ID "").
func folderCollections(cols []*state.Collection) int {
	n := 0
	for _, c := range cols {
		if c.ID != "" {
			n++
		}
	}
	return n
}

func devicesList(ctx context.Context, store state.Store, pos []string, out io.Writer) error {
	var users []string
	if len(pos) == 1 {
		users = []string{pos[0]}
	} else {
		var err error
		if users, err = store.ListUsers(ctx); err != nil {
			return fmt.Errorf("list users: %w", err)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tDEVICE\tTYPE\tPROTOCOL\tLAST SEEN\tWIPE\tCOLLECTIONS")
	rows := 0
	for _, u := range users {
		devs, err := store.ListDevices(ctx, u)
		if err != nil {
			return fmt.Errorf("list devices of %s: %w", u, err)
		}
		for _, d := range devs {
			if d.ID == state.UserScope {
				continue
			}
			cols, err := store.ListCollections(ctx, d.User, d.ID)
			if err != nil {
				return fmt.Errorf("collections of %s/%s: %w", d.User, d.ID, err)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", d.User, d.ID, dash(d.Type), dash(d.ProtocolVersion),
				when(d.LastSeen), d.Wipe, folderCollections(cols))
			rows++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rows == 0 {
		fmt.Fprintln(out, "(no devices)")
	}
	return nil
}

func devicesShow(ctx context.Context, store state.Store, user, deviceID string, out io.Writer) error {
	d, err := getDevice(ctx, store, user, deviceID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("user", d.User)
	row("device", d.ID)
	row("type", dash(d.Type))
	row("user agent", dash(d.UserAgent))
	row("protocol", dash(d.ProtocolVersion))
	row("first seen", when(d.FirstSeen))
	row("last seen", when(d.LastSeen))
	row("provisioned", provisioned(d))
	wipe := d.Wipe.String()
	if !d.WipeRequested.IsZero() {
		wipe += ", requested " + when(d.WipeRequested)
	}
	if !d.WipeAcked.IsZero() {
		wipe += ", acknowledged " + when(d.WipeAcked)
	}
	row("wipe", wipe)
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(d.Info) > 0 {
		fmt.Fprintln(out, "\ndevice information:")
		keys := make([]string, 0, len(d.Info))
		for k := range d.Info {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%s\n", k, d.Info[k])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	cols, err := store.ListCollections(ctx, user, deviceID)
	if err != nil {
		return fmt.Errorf("collections: %w", err)
	}
	fmt.Fprintln(out, "\ncollections:")
	if len(cols) == 0 {
		fmt.Fprintln(out, "  (none: the device has not synced yet)")
		return nil
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].ID < cols[j].ID })
	fmt.Fprintln(tw, "  COLLECTION\tSYNC KEY\tPREVIOUS\tITEMS\tPENDING\tUPDATED")
	for _, c := range cols {
		snap, err := store.Snapshot(ctx, user, deviceID, c.ID)
		if err != nil {
			return fmt.Errorf("snapshot of %s: %w", collectionName(c.ID), err)
		}
		pending := 0
		if c.Pending != nil {
			pending = len(c.Pending.Set) + len(c.Pending.Del)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\n", collectionName(c.ID), dash(c.SyncKey), dash(c.PrevSyncKey),
			len(snap), pending, when(c.Updated))
	}
	return tw.Flush()
}

func devicesResync(ctx context.Context, store state.Store, user, deviceID, collection string, hierarchy bool, out io.Writer) error {
	if _, err := getDevice(ctx, store, user, deviceID); err != nil {
		return err
	}
	var ids []string
	if collection != "" {
		if _, err := store.GetCollection(ctx, user, deviceID, collection); errors.Is(err, state.ErrNotFound) {
			return fmt.Errorf("device %s of %s has no collection %q (see idlebridge devices show)", deviceID, user, collection)
		} else if err != nil {
			return err
		}
		ids = []string{collection}
	} else {
		cols, err := store.ListCollections(ctx, user, deviceID)
		if err != nil {
			return fmt.Errorf("collections: %w", err)
		}
		for _, c := range cols {
			if c.ID != "" || hierarchy {
				ids = append(ids, c.ID)
			}
		}
	}
	for _, id := range ids {
		if err := store.ResetCollection(ctx, user, deviceID, id); err != nil {
			return fmt.Errorf("reset %s: %w", collectionName(id), err)
		}
		fmt.Fprintf(out, "reset %s\n", collectionName(id))
	}
	if len(ids) == 0 {
		fmt.Fprintln(out, "nothing to reset: the device has no synced collections")
		return nil
	}
	// MS-ASCMD 2.2.3.177.17: an unknown sync key gets Status 3, after which
	// the device starts that collection over with key 0.
	fmt.Fprintln(out, "the device's next sync of these starts over from scratch")
	return nil
}

func devicesWipe(ctx context.Context, store state.Store, user, deviceID string, yes bool, in io.Reader, out io.Writer) error {
	d, err := getDevice(ctx, store, user, deviceID)
	if err != nil {
		return err
	}
	if !yes {
		fmt.Fprintf(out, "Wipe device %s (%s) of %s? It erases the phone (all its data, not only this account) on its next request.\nType yes to confirm: ", d.ID, dash(d.Type), d.User)
		line, _ := bufio.NewReader(in).ReadString('\n')
		if strings.TrimSpace(strings.ToLower(line)) != "yes" {
			return errors.New("wipe cancelled")
		}
	}
	now := time.Now()
	_, err = store.UpdateDevice(ctx, user, deviceID, func(d *state.Device) error {
		if d.FirstSeen.IsZero() {
			return state.ErrNotFound // removed meanwhile: do not create it
		}
		d.Wipe = state.WipeRequested
		d.WipeRequested = now
		d.WipeAcked = time.Time{}
		return nil
	})
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("device %s of %s was removed meanwhile", deviceID, user)
	}
	if err != nil {
		return fmt.Errorf("request wipe: %w", err)
	}
	fmt.Fprintf(out, "wipe requested for %s of %s: the device is told on its next request\n", deviceID, user)
	return nil
}

func devicesRemove(ctx context.Context, store state.Store, user, deviceID string, out io.Writer) error {
	if _, err := getDevice(ctx, store, user, deviceID); err != nil {
		return err
	}
	if err := store.DeleteDevice(ctx, user, deviceID); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	fmt.Fprintf(out, "removed %s of %s; if it comes back it starts with a fresh initial sync\n", deviceID, user)
	return nil
}

// getDevice reads a device, with an error that says what to do when the
// pair is unknown.
func getDevice(ctx context.Context, store state.Store, user, deviceID string) (*state.Device, error) {
	d, err := store.GetDevice(ctx, user, deviceID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, fmt.Errorf("no device %q for %s (see idlebridge devices list %s)", deviceID, user, user)
	}
	if err != nil {
		return nil, fmt.Errorf("read device: %w", err)
	}
	return d, nil
}

func collectionName(id string) string {
	if id == "" {
		return "(folder hierarchy)"
	}
	return id
}

func provisioned(d *state.Device) string {
	switch {
	case d.PolicyKey != 0:
		return fmt.Sprintf("yes (policy key %d)", d.PolicyKey)
	case d.PendingPolicyKey != 0:
		return "in progress (first phase done)"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
