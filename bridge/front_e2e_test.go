package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync/client"
	"github.com/idlebridge/idlebridge/internal/bridgetest"
)

// A device whose policy key, as the bridge issued it, encodes to a base64
// query with a literal '+' (as iOS sends it, MS-ASHTTP 2.2.1.1.1.1) is
// served, in the raw and the %2B form.
func TestBase64QueryWithPlus(t *testing.T) {
	ctx := context.Background()
	e := bridgetest.Start(t, bridgetest.Options{})
	for i := 0; i < 300; i++ {
		dev := e.Device(t, fmt.Sprintf("plus%d", i), "14.1")
		q, err := client.EncodeBase64Query("14.1", "FolderSync", dev.DeviceID, dev.DeviceType, dev.PolicyKey, e.User, client.Params{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(q, "+") {
			continue
		}
		dev.Base64Query = true
		fs, err := dev.FolderSync(ctx, "0")
		if err != nil {
			t.Fatalf("FolderSync with policy key %d (query %s): %v", dev.PolicyKey, q, err)
		}
		if fs.Status != "1" || len(fs.Add) == 0 {
			t.Fatalf("FolderSync with policy key %d: status %q, %d folders", dev.PolicyKey, fs.Status, len(fs.Add))
		}
		return
	}
	t.Fatal("no issued policy key gave a '+' in 300 devices")
}
