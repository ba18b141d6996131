package activesync

import (
	"context"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// Settings status values (MS-ASCMD 2.2.3.177.15).
const (
	settingsOK             = "1"
	settingsProtocolError  = "2"
	settingsDeniedByPolicy = "7"
)

// handleSettings answers the parts of Settings (MS-ASCMD 2.2.1.18) a phone
// needs: DeviceInformation Set is stored with the device, UserInformation
// Get returns the user's address, Oof Get says "disabled" and Oof Set is
// refused cleanly (the provider's vacation settings are not reachable over
// IMAP), DevicePassword Set is acknowledged.
func handleSettings(ctx context.Context, c *call) (*wbxml.Element, error) {
	resp := wbxml.New(wbxml.Settings, "Settings")
	resp.AddText(wbxml.Settings, "Status", settingsOK)
	for _, el := range c.req.Children {
		if el.Space != wbxml.Settings {
			continue
		}
		switch el.Name {
		case "Oof":
			oof := resp.Add(wbxml.Settings, "Oof")
			switch {
			case el.Has(wbxml.Settings, "Get"):
				oof.AddText(wbxml.Settings, "Status", settingsOK)
				oof.Add(wbxml.Settings, "Get").AddText(wbxml.Settings, "OofState", "0")
			case el.Has(wbxml.Settings, "Set"):
				c.log.Info("settings: out-of-office change refused (not supported by the bridge)")
				oof.AddText(wbxml.Settings, "Status", settingsDeniedByPolicy)
			default:
				oof.AddText(wbxml.Settings, "Status", settingsProtocolError)
			}
		case "DeviceInformation":
			di := resp.Add(wbxml.Settings, "DeviceInformation")
			info := deviceInformation(el)
			if info == nil {
				di.AddText(wbxml.Settings, "Status", settingsProtocolError)
				continue
			}
			if _, err := c.s.Backend.UpdateDevice(ctx, c.acct, c.q.DeviceID, func(d *Device) error {
				d.Info = info
				return nil
			}); err != nil {
				return nil, err
			}
			di.AddText(wbxml.Settings, "Status", settingsOK)
		case "UserInformation":
			ui := resp.Add(wbxml.Settings, "UserInformation")
			ui.AddText(wbxml.Settings, "Status", settingsOK)
			get := ui.Add(wbxml.Settings, "Get")
			addr := c.acct.Address()
			if c.ver >= V141 {
				// 14.1+: Accounts/Account/EmailAddresses/PrimarySmtpAddress.
				acc := get.Add(wbxml.Settings, "Accounts").Add(wbxml.Settings, "Account")
				if name := c.acct.DisplayName(); name != "" {
					acc.AddText(wbxml.Settings, "UserDisplayName", name)
				}
				acc.Add(wbxml.Settings, "EmailAddresses").AddText(wbxml.Settings, "PrimarySmtpAddress", addr)
			} else {
				get.Add(wbxml.Settings, "EmailAddresses").AddText(wbxml.Settings, "SMTPAddress", addr)
			}
		case "DevicePassword":
			dp := resp.Add(wbxml.Settings, "DevicePassword")
			dp.AddText(wbxml.Settings, "Status", settingsOK)
		case "RightsManagementInformation":
			rm := resp.Add(wbxml.Settings, "RightsManagementInformation")
			rm.AddText(wbxml.Settings, "Status", settingsOK)
			rm.Add(wbxml.Settings, "Get")
		}
	}
	return resp, nil
}
