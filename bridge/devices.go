package bridge

import (
	"context"
	"maps"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// UpdateDevice maps the protocol's device record onto the store's.
func (b *Bridge) UpdateDevice(ctx context.Context, acct activesync.Account, deviceID string, fn func(*activesync.Device) error) (*activesync.Device, error) {
	var out *activesync.Device
	isNew := false
	_, err := b.Store.UpdateDevice(ctx, acct.Address(), deviceID, func(sd *state.Device) error {
		isNew = sd.FirstSeen.IsZero()
		d := toProtocolDevice(sd)
		if err := fn(d); err != nil {
			return err
		}
		fromProtocolDevice(sd, d)
		out = d
		return nil
	})
	if err != nil {
		return nil, storeErr(err)
	}
	if isNew {
		// Failing to evict is logged, not the request's failure: the new
		// device is recorded and may go on.
		if err := b.capDevices(ctx, acct.Address(), deviceID); err != nil {
			b.Log.Error("enforcing the per-user device limit", "user", acct.Address(), "device", deviceID, "err", err)
		}
	}
	return out, nil
}

func toProtocolDevice(sd *state.Device) *activesync.Device {
	return &activesync.Device{
		ID:               sd.ID,
		Type:             sd.Type,
		UserAgent:        sd.UserAgent,
		ProtocolVersion:  sd.ProtocolVersion,
		Info:             maps.Clone(sd.Info),
		PolicyKey:        sd.PolicyKey,
		PendingPolicyKey: sd.PendingPolicyKey,
		PolicyHash:       sd.PolicyHash,
		Wipe:             activesync.WipeStatus(sd.Wipe),
		WipeRequested:    sd.WipeRequested,
		WipeAcked:        sd.WipeAcked,
		FirstSeen:        sd.FirstSeen,
		LastSeen:         sd.LastSeen,
		LastActive:       sd.LastActive,
		Meta:             maps.Clone(sd.Meta),
	}
}

func fromProtocolDevice(sd *state.Device, d *activesync.Device) {
	sd.Type = d.Type
	sd.UserAgent = d.UserAgent
	sd.ProtocolVersion = d.ProtocolVersion
	sd.Info = maps.Clone(d.Info)
	sd.PolicyKey = d.PolicyKey
	sd.PendingPolicyKey = d.PendingPolicyKey
	sd.PolicyHash = d.PolicyHash
	sd.Wipe = state.WipeStatus(d.Wipe)
	sd.WipeRequested = d.WipeRequested
	sd.WipeAcked = d.WipeAcked
	sd.FirstSeen = d.FirstSeen
	sd.LastSeen = d.LastSeen
	sd.LastActive = d.LastActive
	sd.Meta = maps.Clone(d.Meta)
}
