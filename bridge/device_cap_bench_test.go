package bridge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// BenchmarkDeviceFlood is one user's client inventing a DeviceId per
// request: 3 000 devices each provision and FolderSync, on the embedded
// store with the default cap, then the devices kept and the store file's
// size are reported (go test ./bridge/ -run - -bench DeviceFlood
// -benchtime 1x).
func BenchmarkDeviceFlood(b *testing.B) {
	for b.Loop() {
		path := filepath.Join(b.TempDir(), state.EmbeddedFile)
		st, err := state.OpenEmbedded(path, state.EmbeddedOptions{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		e := bridgetest.Start(b, bridgetest.Options{Store: st, Bus: state.NewMemoryBus(), Leases: state.NewMemoryLeases()})
		ctx := context.Background()
		for i := range 3000 {
			if _, err := e.Device(b, fmt.Sprint("flood", i), "16.1").FolderSync(ctx, "0"); err != nil {
				b.Fatal(err)
			}
		}
		devs, err := st.ListDevices(ctx, e.User)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(devs)), "devices")
		b.ReportMetric(float64(fi.Size())/(1<<20), "store-MiB")
	}
}
