package activesync

import (
	"context"
	"strconv"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

func estimator(b Backend) bool { _, ok := b.(Estimator); return ok }

// handleGetItemEstimate answers GetItemEstimate (MS-ASCMD 2.2.1.9). The
// collection fields sit in the GetItemEstimate namespace in 12.x and in
// AirSync in 14.0+; both are accepted whatever the version, as clients mix
// them.
func handleGetItemEstimate(ctx context.Context, c *call) (*wbxml.Element, error) {
	est := c.s.Backend.(Estimator)
	resp := wbxml.New(wbxml.GetItemEstimate, "GetItemEstimate")
	either := func(el *wbxml.Element, name string) *wbxml.Element {
		if x := el.Child(wbxml.AirSync, name); x != nil {
			return x
		}
		return el.Child(wbxml.GetItemEstimate, name)
	}
	for _, col := range c.req.Child(wbxml.GetItemEstimate, "Collections").All(wbxml.GetItemEstimate, "Collection") {
		id := col.ChildText(wbxml.GetItemEstimate, "CollectionId")
		r := resp.Add(wbxml.GetItemEstimate, "Response")
		key := either(col, "SyncKey").Content()
		opts := SyncOptions{MIMETruncation: -1, Conflict: 1}
		if o := either(col, "Options"); o != nil {
			opts = parseOptions(o)
		}
		opts.Version = c.ver
		if ft := col.ChildText(wbxml.GetItemEstimate, "FilterType"); ft != "" {
			opts.FilterType, _ = strconv.Atoi(ft)
		}
		n, err := est.Estimate(ctx, c.acct, c.q.DeviceID, id, key, opts)
		status := EstimateStatusOK
		if err != nil {
			code, ok := commandStatusOf(err)
			if !ok {
				return nil, err
			}
			status = code
		}
		r.AddText(wbxml.GetItemEstimate, "Status", strconv.Itoa(status))
		rc := r.Add(wbxml.GetItemEstimate, "Collection")
		rc.AddText(wbxml.GetItemEstimate, "CollectionId", id)
		if status == EstimateStatusOK {
			rc.AddText(wbxml.GetItemEstimate, "Estimate", strconv.Itoa(n))
		}
	}
	return resp, nil
}
