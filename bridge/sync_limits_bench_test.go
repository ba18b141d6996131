package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// vmHWM is the process's peak resident set (Linux), in bytes.
func vmHWM(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	b.Skip("no VmHWM")
	return 0
}

// BenchmarkSyncCacheStoreGrowth: ten Sync requests of 30 MiB each (the
// bulk beside the fields an empty Sync needs) against the embedded
// engine; reports the store file's size.
func BenchmarkSyncCacheStoreGrowth(b *testing.B) {
	for range b.N {
		path := filepath.Join(b.TempDir(), "idlebridge.db")
		st, err := state.OpenEmbedded(path, state.EmbeddedOptions{})
		if err != nil {
			b.Fatal(err)
		}
		e := bridgetest.Start(b, bridgetest.Options{Store: st, Bus: state.NewMemoryBus(), Leases: state.NewMemoryLeases()})
		dev := e.Device(b, "phone", "14.1")
		fs, err := dev.FolderSync(context.Background(), "0")
		if err != nil {
			b.Fatal(err)
		}
		f, _ := client.FolderByType(fs.Add, 2)
		inbox := f.ServerID
		r, err := dev.Sync(context.Background(), inbox, "0", client.SyncOptions{})
		if err != nil {
			b.Fatal(err)
		}
		key := r.SyncKey
		bulk := strings.Repeat("z", 30<<20)
		for i := range 10 {
			req := wbxml.New(wbxml.AirSync, "Sync")
			col := req.Add(wbxml.AirSync, "Collections").Add(wbxml.AirSync, "Collection")
			col.AddText(wbxml.AirSync, "SyncKey", key)
			col.AddText(wbxml.AirSync, "CollectionId", inbox)
			col.Add(wbxml.AirSync, "Supported").AddText(wbxml.AirSync, "Class", bulk[:len(bulk)-i])
			if _, err := dev.Do(context.Background(), "Sync", req); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/(1<<20), "store-MiB")
	}
}

// BenchmarkDuplicateCollectionSync: one Sync naming a folder of 200
// messages of 50 KB forty times; reports the answer's size and the
// process's peak RSS.
func BenchmarkDuplicateCollectionSync(b *testing.B) { benchWideSync(b, 200, 40) }

// BenchmarkLargeWindowSync: one Sync of one collection whose window (512
// messages of 50 KB, as MIME) is larger than the byte budget.
func BenchmarkLargeWindowSync(b *testing.B) { benchWideSync(b, 512, 1) }

func benchWideSync(b *testing.B, messages, copies int) {
	e := bridgetest.Start(b, bridgetest.Options{})
	up := e.IMAP(b)
	body := strings.Repeat("fifty kilobytes of text ", 50<<10/24)
	for i := range messages {
		msg := bridgetest.Message("bulk "+strconv.Itoa(i), body)
		if _, err := up.Append(context.Background(), "INBOX", nil, time.Now(), bytes.NewReader(msg), int64(len(msg))); err != nil {
			b.Fatal(err)
		}
	}
	dev := e.Device(b, "phone", "14.1")
	fs, err := dev.FolderSync(context.Background(), "0")
	if err != nil {
		b.Fatal(err)
	}
	inbox, _ := client.FolderByType(fs.Add, 2)
	r, err := dev.Sync(context.Background(), inbox.ServerID, "0", client.SyncOptions{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	before := vmHWM(b)
	b.ResetTimer()
	for range b.N {
		req := wbxml.New(wbxml.AirSync, "Sync")
		cs := req.Add(wbxml.AirSync, "Collections")
		for range copies {
			col := cs.Add(wbxml.AirSync, "Collection")
			col.AddText(wbxml.AirSync, "SyncKey", r.SyncKey)
			col.AddText(wbxml.AirSync, "CollectionId", inbox.ServerID)
			col.AddText(wbxml.AirSync, "WindowSize", "512")
			col.Add(wbxml.AirSync, "Options").Add(wbxml.AirSyncBase, "BodyPreference").AddText(wbxml.AirSyncBase, "Type", "4")
		}
		n, err := rawSync(dev, req)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/(1<<20), "answer-MiB")
	}
	b.ReportMetric(float64(vmHWM(b))/(1<<20), "peakRSS-MiB")
	b.ReportMetric(float64(before)/(1<<20), "RSSbefore-MiB")
}

// rawSync posts a Sync and counts the answer's bytes without decoding
// them (the client refuses answers above 64 MiB).
func rawSync(dev *client.Client, req *wbxml.Element) (int64, error) {
	body, err := wbxml.Encode(req)
	if err != nil {
		return 0, err
	}
	u := dev.BaseURL + "/Microsoft-Server-ActiveSync?Cmd=Sync&User=" + url.QueryEscape(dev.User) +
		"&DeviceId=" + dev.DeviceID + "&DeviceType=" + dev.DeviceType
	hr, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	hr.SetBasicAuth(dev.User, dev.Password)
	hr.Header.Set("Content-Type", "application/vnd.ms-sync.wbxml")
	hr.Header.Set("MS-ASProtocolVersion", dev.Version)
	hr.Header.Set("X-MS-PolicyKey", strconv.FormatUint(uint64(dev.PolicyKey), 10))
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return io.Copy(io.Discard, res.Body)
}
