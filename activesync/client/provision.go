package client

import (
	"context"
	"fmt"
	"strconv"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// ProvisionRequest builds a Provision request: the initial one when key is
// empty, the acknowledgement otherwise. info, when non-nil, is sent as
// settings:DeviceInformation (14.1+).
func ProvisionRequest(key string, info map[string]string) *wbxml.Element {
	req := wbxml.New(wbxml.Provision, "Provision")
	if info != nil {
		set := req.Add(wbxml.Settings, "DeviceInformation").Add(wbxml.Settings, "Set")
		for _, k := range []string{"Model", "IMEI", "FriendlyName", "OS", "OSLanguage", "PhoneNumber", "UserAgent", "MobileOperator"} {
			if v, ok := info[k]; ok {
				set.AddText(wbxml.Settings, k, v)
			}
		}
	}
	pol := req.Add(wbxml.Provision, "Policies").Add(wbxml.Provision, "Policy")
	pol.AddText(wbxml.Provision, "PolicyType", "MS-EAS-Provisioning-WBXML")
	if key != "" {
		pol.AddText(wbxml.Provision, "PolicyKey", key)
		pol.AddText(wbxml.Provision, "Status", "1")
	}
	return req
}

// Provision runs both phases and keeps the final policy key. It returns
// the policy document of the first phase. When the server asks for a
// remote wipe it returns ErrWipe (and does not acknowledge: call AckWipe).
func (c *Client) Provision(ctx context.Context) (*wbxml.Element, error) {
	r, err := c.Do(ctx, "Provision", ProvisionRequest("", nil))
	if err != nil {
		return nil, err
	}
	if r.Doc.Has(wbxml.Provision, "RemoteWipe") {
		return nil, ErrWipe
	}
	pol := r.Doc.Child(wbxml.Provision, "Policies").Child(wbxml.Provision, "Policy")
	if st := pol.ChildText(wbxml.Provision, "Status"); st != "1" {
		return nil, fmt.Errorf("activesync: provision phase 1: policy status %q", st)
	}
	doc := pol.Child(wbxml.Provision, "Data").Child(wbxml.Provision, "EASProvisionDoc")
	temp := pol.ChildText(wbxml.Provision, "PolicyKey")
	r2, err := c.Do(ctx, "Provision", ProvisionRequest(temp, nil))
	if err != nil {
		return nil, err
	}
	pol2 := r2.Doc.Child(wbxml.Provision, "Policies").Child(wbxml.Provision, "Policy")
	if st := pol2.ChildText(wbxml.Provision, "Status"); st != "1" {
		return nil, fmt.Errorf("activesync: provision phase 2: policy status %q", st)
	}
	k, err := strconv.ParseUint(pol2.ChildText(wbxml.Provision, "PolicyKey"), 10, 32)
	if err != nil || k == 0 {
		return nil, fmt.Errorf("activesync: provision phase 2: bad final key %q", pol2.ChildText(wbxml.Provision, "PolicyKey"))
	}
	c.PolicyKey = uint32(k)
	return doc, nil
}

// ErrWipe says the server answered Provision with a remote wipe directive.
var ErrWipe = fmt.Errorf("activesync: server requested a remote wipe")

// AckWipe acknowledges a remote wipe with the given status (1 success).
func (c *Client) AckWipe(ctx context.Context, status int) (*Response, error) {
	req := wbxml.New(wbxml.Provision, "Provision")
	req.Add(wbxml.Provision, "RemoteWipe").AddText(wbxml.Provision, "Status", strconv.Itoa(status))
	return c.Do(ctx, "Provision", req)
}
