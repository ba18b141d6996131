package activesync

import (
	"context"
	"encoding/base64"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// The cached Sync request (MS-ASCMD 2.2.1.21.1 and 2.2.3.131): an empty
// Sync repeats the device's last full request and a Partial one completes
// it. The cache keeps only what those need — per collection its ID, the
// sync key the bridge issued last, and its options — never Commands (they
// must not be replayed, and a device's Adds can be megabytes) nor anything
// else a device may have put into the request. It is stored in the device
// record, read on every request of the device, so it must stay small.
//
// The stored form is the one earlier versions wrote: a base64 WBXML Sync
// element under Meta[metaLastSyncRequest]. Those caches still hold the keys
// the device had sent and every element but Commands; they are compacted
// when read, so their keys are still used and their size no longer
// matters.

// Bounds of the cached request, well above what any device sends.
const (
	maxCachedText      = 256 // bytes of one value (a sync key, an ID, a number)
	maxCachedOptions   = 4   // Options per collection (one per Class, 14.0+)
	maxCachedBodyPrefs = 8   // BodyPreference per Options (one per body type)
)

// Which children an empty or Partial Sync needs from the cached request.
var (
	cachedSyncFields       = []string{"Wait", "HeartbeatInterval", "WindowSize"}
	cachedCollectionFields = []string{"SyncKey", "CollectionId", "Class", "GetChanges", "WindowSize", "DeletesAsMoves", "ConversationMode"}
	cachedOptionFields     = []string{"Class", "FilterType", "Conflict", "MIMESupport", "MIMETruncation", "MaxItems"}
	cachedBodyPrefFields   = []string{"Type", "TruncationSize", "AllOrNone", "Preview"}
)

// syncRequest returns the request to act on: the body, completed from the
// cached last full request when it is empty or Partial (14.0+); nil when
// there is nothing to act on (status 13). The cache is updated once the
// answer is known (rememberSyncRequest), with the keys it carries.
func (c *call) syncRequest() *wbxml.Element {
	req := c.req
	switch {
	case req == nil:
		// An empty Sync repeats the last one (MS-ASCMD 2.2.1.21.1).
		return c.cachedSyncRequest()
	case req.Has(wbxml.AirSync, "Partial"):
		prev := c.cachedSyncRequest()
		if prev == nil {
			return nil
		}
		return mergePartial(prev, req)
	}
	return req
}

// cachedSyncRequest decodes the device's cached request, compacted; nil
// when there is none or it cannot be read.
func (c *call) cachedSyncRequest() *wbxml.Element {
	if c.dev == nil {
		return nil
	}
	b64 := c.dev.Meta[metaLastSyncRequest]
	if b64 == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil
	}
	el, err := wbxml.Decode(raw, wbxml.DefaultLimits)
	if err != nil || !el.Is(wbxml.AirSync, "Sync") {
		return nil
	}
	return compactSyncRequest(el, nil)
}

// rememberSyncRequest caches req, compacted, with the sync keys resp
// issued (MS-ASCMD 2.2.1.21.1: the server uses the cached request, and
// the device holds the keys of our last answer, not those it sent). A
// collection resp does not carry keeps the key of the request. resp may
// be nil (no answer yet, or an empty answer).
//
// A failure to store is returned: the answer must not reach the device
// while the cache still holds the keys before it, or its next empty Sync
// would be answered again under those keys (the Adds sent twice).
func (c *call) rememberSyncRequest(ctx context.Context, req, resp *wbxml.Element) error {
	b, err := wbxml.Encode(compactSyncRequest(req, issuedKeys(resp)))
	if err != nil {
		return nil // not worth failing the request over: the device sends a full Sync on status 13
	}
	enc := base64.StdEncoding.EncodeToString(b)
	if c.dev != nil && c.dev.Meta[metaLastSyncRequest] == enc {
		return nil
	}
	dev, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
		if d.Meta == nil {
			d.Meta = map[string]string{}
		}
		d.Meta[metaLastSyncRequest] = enc
		return nil
	})
	if err != nil {
		return err
	}
	if c.dev != nil {
		c.dev = dev
	}
	return nil
}

// issuedKeys reads the sync key of each collection of a Sync answer.
func issuedKeys(resp *wbxml.Element) map[string]string {
	keys := map[string]string{}
	for _, cs := range resp.All(wbxml.AirSync, "Collections") {
		for _, col := range cs.All(wbxml.AirSync, "Collection") {
			if k := col.Child(wbxml.AirSync, "SyncKey"); k != nil {
				keys[col.ChildText(wbxml.AirSync, "CollectionId")] = k.Content()
			}
		}
	}
	return keys
}

// compactSyncRequest copies what the cache keeps of a Sync request (see
// the top of this file), replacing sync keys by those in keys, and drops
// Partial and Commands. Values longer than maxCachedText are left out.
func compactSyncRequest(req *wbxml.Element, keys map[string]string) *wbxml.Element {
	out := wbxml.New(wbxml.AirSync, "Sync")
	cs := out.Add(wbxml.AirSync, "Collections")
	n := 0
	for _, in := range req.All(wbxml.AirSync, "Collections") {
		for _, col := range in.All(wbxml.AirSync, "Collection") {
			if n == maxSyncCollections {
				break
			}
			n++
			nc := cs.Add(wbxml.AirSync, "Collection")
			copyLeaves(nc, col, wbxml.AirSync, cachedCollectionFields)
			if k, ok := keys[col.ChildText(wbxml.AirSync, "CollectionId")]; ok {
				if el := nc.Child(wbxml.AirSync, "SyncKey"); el != nil {
					el.Text = k
				}
			}
			for i, opt := range col.All(wbxml.AirSync, "Options") {
				if i == maxCachedOptions {
					break
				}
				no := nc.Add(wbxml.AirSync, "Options")
				copyLeaves(no, opt, wbxml.AirSync, cachedOptionFields)
				for j, bp := range opt.All(wbxml.AirSyncBase, "BodyPreference") {
					if j == maxCachedBodyPrefs {
						break
					}
					copyLeaves(no.Add(wbxml.AirSyncBase, "BodyPreference"), bp, wbxml.AirSyncBase, cachedBodyPrefFields)
				}
			}
		}
	}
	copyLeaves(out, req, wbxml.AirSync, cachedSyncFields)
	return out
}

// copyLeaves appends to dst the first of each named text child of src (in
// names' order), leaving out values too long to be real.
func copyLeaves(dst, src *wbxml.Element, space string, names []string) {
	for _, name := range names {
		el := src.Child(space, name)
		if el == nil || len(el.Children) > 0 || len(el.Content()) > maxCachedText {
			continue
		}
		dst.AddText(space, name, el.Content())
	}
}

// mergePartial completes a Partial Sync from the cached request: the
// collections it names replace their cached versions (keeping cached
// options it does not repeat), the others are carried over; Wait,
// HeartbeatInterval and WindowSize come from the new request when given.
func mergePartial(prev, req *wbxml.Element) *wbxml.Element {
	byID := map[string]*wbxml.Element{}
	var order []string
	for _, col := range prev.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection") {
		id := col.ChildText(wbxml.AirSync, "CollectionId")
		byID[id] = col
		order = append(order, id)
	}
	for _, col := range req.Child(wbxml.AirSync, "Collections").All(wbxml.AirSync, "Collection") {
		id := col.ChildText(wbxml.AirSync, "CollectionId")
		if old, ok := byID[id]; ok {
			merged := wbxml.New(wbxml.AirSync, "Collection")
			merged.Children = append(merged.Children, col.Children...)
			for _, f := range old.Children {
				if !col.Has(f.Space, f.Name) && !f.Is(wbxml.AirSync, "Commands") && !f.Is(wbxml.AirSync, "SyncKey") {
					merged.Append(f)
				}
			}
			byID[id] = merged
		} else {
			byID[id] = col
			order = append(order, id)
		}
	}
	out := wbxml.New(wbxml.AirSync, "Sync")
	cs := out.Add(wbxml.AirSync, "Collections")
	for _, id := range order {
		cs.Append(byID[id])
	}
	for _, name := range []string{"Wait", "HeartbeatInterval", "WindowSize"} {
		if el := req.Child(wbxml.AirSync, name); el != nil {
			out.Append(el)
		} else if el := prev.Child(wbxml.AirSync, name); el != nil {
			out.Append(el)
		}
	}
	return out
}
