package activesync

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Provision status values (MS-ASPROV 2.2.2.54.2) and Policy status values
// (2.2.2.54.1).
const (
	provOK            = "1"
	provProtocolError = "2"

	policyOK             = "1"
	policyUnknownType    = "3"
	policyWrongKeyAcked  = "5"
	remoteWipeAckSuccess = "1"
)

// handleProvision runs both phases of MS-ASPROV 3.2.5.1: the initial
// request gets a temporary policy key and the policy document; the
// acknowledgement of that key gets the final key. A pending remote wipe
// replaces the policy with a RemoteWipe directive until acknowledged.
func handleProvision(ctx context.Context, c *call) (*wbxml.Element, error) {
	req := c.req
	resp := wbxml.New(wbxml.Provision, "Provision")

	// 14.1+ may carry settings:DeviceInformation; its status comes first.
	info := deviceInformation(req.Child(wbxml.Settings, "DeviceInformation"))
	if info != nil {
		resp.Add(wbxml.Settings, "DeviceInformation").AddText(wbxml.Settings, "Status", "1")
	}

	// Acknowledgement of a remote wipe (MS-ASPROV 3.2.5.1.2.2).
	if rw := req.Child(wbxml.Provision, "RemoteWipe"); rw != nil {
		ok := rw.ChildText(wbxml.Provision, "Status") == remoteWipeAckSuccess
		_, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
			if ok {
				d.Wipe, d.WipeAcked = WipeDone, time.Now().UTC()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.log.Warn("remote wipe acknowledged by device", "success", ok)
		if ok {
			resp.AddText(wbxml.Provision, "Status", provOK)
		} else {
			// The device failed to wipe: say so and ask again.
			resp.AddText(wbxml.Provision, "Status", provProtocolError)
			resp.Add(wbxml.Provision, "RemoteWipe")
		}
		return resp, nil
	}

	// A device marked for wiping gets the directive instead of a policy,
	// and keeps getting it until an admin removes the device.
	if c.dev.Wipe != WipeNone {
		if _, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
			if info != nil {
				d.Info = info
			}
			if d.Wipe == WipeRequested {
				d.Wipe = WipeSent
			}
			return nil
		}); err != nil {
			return nil, err
		}
		c.log.Warn("sending remote wipe directive")
		resp.AddText(wbxml.Provision, "Status", provOK)
		resp.Add(wbxml.Provision, "RemoteWipe")
		return resp, nil
	}

	pol := req.Child(wbxml.Provision, "Policies").Child(wbxml.Provision, "Policy")
	if pol == nil {
		if info != nil {
			// A Provision carrying only DeviceInformation: store it.
			if _, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
				d.Info = info
				return nil
			}); err != nil {
				return nil, err
			}
			resp.AddText(wbxml.Provision, "Status", provOK)
			return resp, nil
		}
		resp.AddText(wbxml.Provision, "Status", provProtocolError)
		return resp, nil
	}
	ptype := pol.ChildText(wbxml.Provision, "PolicyType")
	respPol := func(status string) *wbxml.Element {
		resp.AddText(wbxml.Provision, "Status", provOK)
		p := resp.Add(wbxml.Provision, "Policies").Add(wbxml.Provision, "Policy")
		p.AddText(wbxml.Provision, "PolicyType", ptype)
		p.AddText(wbxml.Provision, "Status", status)
		return p
	}
	if ptype != PolicyTypeWBXML {
		// 12.0+ knows only the WBXML policy type; the XML one is 2.5's.
		respPol(policyUnknownType)
		return resp, nil
	}

	keyText := pol.ChildText(wbxml.Provision, "PolicyKey")
	if keyText == "" {
		return provisionInitial(ctx, c, resp, respPol, info)
	}
	return provisionAck(ctx, c, resp, respPol, keyText, pol.ChildText(wbxml.Provision, "Status"))
}

// provisionInitial hands out a temporary key with the policy document.
func provisionInitial(ctx context.Context, c *call, resp *wbxml.Element, respPol func(string) *wbxml.Element, info map[string]string) (*wbxml.Element, error) {
	temp := newPolicyKey()
	if _, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
		d.PendingPolicyKey = temp
		if info != nil {
			d.Info = info
		}
		return nil
	}); err != nil {
		return nil, err
	}
	p := respPol(policyOK)
	p.AddText(wbxml.Provision, "PolicyKey", strconv.FormatUint(uint64(temp), 10))
	p.Add(wbxml.Provision, "Data").Append(c.s.Policy.provisionDoc())
	c.log.Info("provision: policy sent", "require_password", c.s.Policy.RequirePassword)
	return resp, nil
}

// provisionAck turns an acknowledged temporary key into the final one.
// Acknowledging the same temporary key again (the answer was lost) yields
// the same final key, so a retry cannot strand the device.
func provisionAck(ctx context.Context, c *call, resp *wbxml.Element, respPol func(string) *wbxml.Element, keyText, clientStatus string) (*wbxml.Element, error) {
	key, err := strconv.ParseUint(keyText, 10, 32)
	hash := c.s.Policy.Hash()
	var final uint32
	dev, uerr := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
		final = 0
		if err != nil || d.PendingPolicyKey == 0 || uint32(key) != d.PendingPolicyKey {
			return nil
		}
		if d.PolicyKey == 0 || d.PolicyHash != hash {
			d.PolicyKey = newPolicyKey()
			d.PolicyHash = hash
		}
		final = d.PolicyKey
		return nil
	})
	if uerr != nil {
		return nil, uerr
	}
	if final == 0 {
		c.log.Warn("provision: acknowledgement of an unknown policy key", "key", keyText)
		respPol(policyWrongKeyAcked)
		return resp, nil
	}
	if clientStatus != "" && clientStatus != policyOK {
		// 2: partially applied, 3: not applied, 4: third-party managed. The
		// bridge's policy is advisory, so the device is let in; the log
		// keeps the fact for the admin.
		c.log.Warn("provision: device did not fully apply the policy", "client_status", clientStatus, "model", dev.Info["Model"])
	}
	p := respPol(policyOK)
	p.AddText(wbxml.Provision, "PolicyKey", strconv.FormatUint(uint64(final), 10))
	c.log.Info("provision: device provisioned")
	return resp, nil
}

// newPolicyKey returns a random non-zero key.
func newPolicyKey() uint32 {
	var b [4]byte
	for {
		_, _ = rand.Read(b[:])
		if k := binary.LittleEndian.Uint32(b[:]); k != 0 {
			return k
		}
	}
}

// deviceInformation reads settings:DeviceInformation/Set into a map, or
// nil when absent. Values are bounded: they come from the device.
func deviceInformation(di *wbxml.Element) map[string]string {
	set := di.Child(wbxml.Settings, "Set")
	if set == nil {
		return nil
	}
	m := map[string]string{}
	for _, ch := range set.Children {
		if len(m) >= 32 {
			break
		}
		v := ch.Content()
		if len(v) > 256 {
			v = v[:256]
		}
		m[ch.Name] = v
	}
	return m
}
