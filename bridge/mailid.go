package bridge

import "github.com/idlebridge/idlebridge/bridge/mailid"

// The bridge's short name for bridge/mailid (meetings, the router).
func parseItemID(id string) (string, uint32, bool) { return mailid.ParseItem(id) }
