package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// fleet is the set of simulated devices and their shared counters.
type fleet struct {
	o     Options
	in    *instances
	http  *http.Client
	rec   *recorder
	runID string

	ready    []atomic.Int32 // per user: devices that parked at least once
	parkedWG sync.WaitGroup // one Done per device: first Ping sent, or setup failed
	failed   atomic.Int32   // devices whose setup failed
	pings    atomic.Int64   // Pings sent
	pingErrs atomic.Int64   // Pings that failed (transport or HTTP error)
	statuses sync.Map       // Ping status other than 1/2 → *atomic.Int64
	syncErrs atomic.Int64
	firstErr atomic.Value // string: the first error seen, for the report
}

// newHTTPClient is shared by all devices: one kept-alive connection per
// device, no limit per host (every device talks to one host), no overall
// timeout (a Ping is held for the heartbeat; requests carry contexts).
func newHTTPClient(devices int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        0, // no overall limit
		MaxIdleConnsPerHost: devices + 16,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}

func (f *fleet) noteErr(what string, err error) {
	f.firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", what, err))
}

// deviceUser spreads devices over users round robin.
func (f *fleet) deviceUser(dev int) int { return dev % f.o.Users }

// run is one device's life: set up, then park Pings until ctx ends.
func (f *fleet) run(ctx context.Context, dev int) {
	user := f.deviceUser(dev)
	c := &client.Client{
		BaseURL:    f.in.urlFor(user),
		User:       f.o.userName(user),
		Password:   f.o.Password,
		DeviceID:   fmt.Sprintf("load%s%06d", f.runID, dev),
		DeviceType: "LoadPhone",
		Version:    "16.1",
		HTTP:       f.http,
	}
	folders, keys, err := f.setup(ctx, c)
	if err != nil {
		f.failed.Add(1)
		if ctx.Err() == nil {
			f.noteErr("device setup", err)
		}
		f.parkedWG.Done()
		return
	}
	hb := int(f.o.Heartbeat / time.Second)
	first := true
	for ctx.Err() == nil {
		if first {
			// Counted just before the Ping goes out; Settle covers the
			// time it takes to reach the hub.
			f.ready[user].Add(1)
			f.parkedWG.Done()
			first = false
		}
		f.pings.Add(1)
		pctx, cancel := context.WithTimeout(ctx, f.o.Heartbeat+time.Minute)
		status, changed, err := c.Ping(pctx, hb, folders...)
		cancel()
		at := time.Now()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			f.pingErrs.Add(1)
			f.noteErr("ping", err)
			sleepCtx(ctx, time.Second)
		case status == "1": // heartbeat expired: park again
		case status == "2":
			if len(changed) == 0 {
				changed = folders // the answer may leave the list out
			}
			var seqs []int
			unknown, failed := 0, false
			for _, id := range changed {
				key, ok := keys[id]
				if !ok {
					continue // not ours: the bridge named a folder we never pinged
				}
				s, u, newKey, err := f.catchUp(ctx, c, id, key)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					f.syncErrs.Add(1)
					f.noteErr("sync after wake", err)
					failed = true
					break
				}
				keys[id] = newKey
				seqs, unknown = append(seqs, s...), unknown+u
			}
			if failed {
				sleepCtx(ctx, time.Second)
				continue
			}
			f.rec.wake(dev, at, seqs, unknown)
		default:
			v, _ := f.statuses.LoadOrStore(status, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			sleepCtx(ctx, time.Second)
		}
	}
}

// setup provisions, finds the folders to watch and syncs each to
// completion, retrying a few times (a provisioning burst may meet a busy
// upstream). It returns the folders' IDs in Options.mailboxes order and
// their sync keys.
func (f *fleet) setup(ctx context.Context, c *client.Client) (folders []string, keys map[string]string, err error) {
	for attempt := range 3 {
		if attempt > 0 {
			sleepCtx(ctx, time.Duration(attempt)*2*time.Second)
		}
		folders, keys, err = f.setupOnce(ctx, c)
		if err == nil || ctx.Err() != nil {
			return folders, keys, err
		}
	}
	return nil, nil, err
}

func (f *fleet) setupOnce(ctx context.Context, c *client.Client) ([]string, map[string]string, error) {
	if _, err := c.Provision(ctx); err != nil {
		return nil, nil, fmt.Errorf("provision: %w", err)
	}
	fs, err := c.FolderSync(ctx, "0")
	if err != nil {
		return nil, nil, fmt.Errorf("foldersync: %w", err)
	}
	if fs.Status != "1" {
		return nil, nil, fmt.Errorf("foldersync: status %s", fs.Status)
	}
	var folders []string
	keys := map[string]string{}
	for _, mb := range f.o.mailboxes() {
		fo, ok := findFolder(fs.Add, mb)
		if !ok {
			return nil, nil, fmt.Errorf("foldersync: no %s", mb)
		}
		_, key, err := c.SyncAll(ctx, fo.ServerID, client.SyncOptions{WindowSize: 100})
		if err != nil {
			return nil, nil, fmt.Errorf("initial sync of %s: %w", mb, err)
		}
		folders, keys[fo.ServerID] = append(folders, fo.ServerID), key
	}
	return folders, keys, nil
}

// findFolder finds a mailbox of loadMailboxes in a FolderSync answer:
// INBOX and Sent by their types, others by name at the top level.
func findFolder(fs []client.Folder, mailbox string) (client.Folder, bool) {
	switch mailbox {
	case "INBOX":
		return client.FolderByType(fs, 2)
	case "Sent":
		return client.FolderByType(fs, 5)
	}
	for _, f := range fs {
		if f.DisplayName == mailbox && f.ParentID == "0" {
			return f, true
		}
	}
	return client.Folder{}, false
}

// catchUp syncs a folder after a wake-up and returns the delivery
// numbers of the messages it brought, how many messages were not ours,
// and the new sync key.
func (f *fleet) catchUp(ctx context.Context, c *client.Client, folder, key string) ([]int, int, string, error) {
	var seqs []int
	unknown := 0
	for range 1000 {
		r, err := c.Sync(ctx, folder, key, client.SyncOptions{WindowSize: 100})
		if err != nil {
			return nil, 0, "", err
		}
		if r.Status == "" && r.SyncKey == "" {
			return seqs, unknown, key, nil // empty answer: nothing new
		}
		if r.Status != "1" {
			return nil, 0, "", fmt.Errorf("sync: status %s", r.Status)
		}
		for _, it := range r.Adds() {
			if s, ok := f.seqFromSubject(it.Data.ChildText(wbxml.Email, "Subject")); ok {
				seqs = append(seqs, s)
			} else {
				unknown++
			}
		}
		key = r.SyncKey
		if !r.More {
			return seqs, unknown, key, nil
		}
	}
	return nil, 0, "", errors.New("sync: MoreAvailable never ended")
}

// subject is the Subject of delivery seq; the run ID keeps messages of an
// earlier run on the same users from being mistaken for ours.
func (f *fleet) subject(seq int) string {
	return "idlebridge-load " + f.runID + " #" + strconv.Itoa(seq)
}

func (f *fleet) seqFromSubject(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "idlebridge-load "+f.runID+" #")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// pingStatuses returns the counts of unexpected Ping statuses.
func (f *fleet) pingStatuses() map[string]int64 {
	out := map[string]int64{}
	f.statuses.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
