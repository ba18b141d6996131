package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// DefaultMaxDevicesPerUser bounds the devices kept per user when
// Bridge.MaxDevicesPerUser is 0: far more phones, tablets and app installs
// than a person has, while a client inventing a DeviceId per request (3 000
// of them once kept 3 000 records, 480 MB of store) costs at most this many.
const DefaultMaxDevicesPerUser = 20

func (b *Bridge) maxDevices() int {
	if b.MaxDevicesPerUser > 0 {
		return b.MaxDevicesPerUser
	}
	return DefaultMaxDevicesPerUser
}

// capDevices runs after a new device of user was recorded: while the user
// has more devices than allowed, the longest idle one other than the new
// one is deleted with all its sync state, and logged. Should that device
// come back it starts over (provision, full sync), as a new phone would.
func (b *Bridge) capDevices(ctx context.Context, user, newID string) error {
	devs, err := b.Store.ListDevices(ctx, user)
	if err != nil {
		return fmt.Errorf("listing devices for the per-user cap: %w", err)
	}
	limit := b.maxDevices()
	for len(devs) > limit {
		idle := -1
		for i, d := range devs {
			if d.ID == newID || d.ID == state.UserScope {
				continue
			}
			if idle < 0 || lastActive(d).Before(lastActive(devs[idle])) {
				idle = i
			}
		}
		if idle < 0 {
			return nil
		}
		d := devs[idle]
		if err := b.Store.DeleteDevice(ctx, user, d.ID); err != nil {
			return fmt.Errorf("evicting device %s: %w", d.ID, err)
		}
		b.Log.Warn("device limit reached; removed the longest idle device and its sync state",
			"user", user, "device", newID, "evicted", d.ID, "evicted_type", d.Type,
			"evicted_last_seen", lastActive(d), "max_devices", limit)
		devs = append(devs[:idle], devs[idle+1:]...)
	}
	return nil
}

// lastActive is when the device was last seen (its creation if never).
func lastActive(d *state.Device) time.Time {
	if !d.LastSeen.IsZero() {
		return d.LastSeen
	}
	return d.FirstSeen
}
