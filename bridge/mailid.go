package bridge

import "github.com/idlebridge/idlebridge/bridge/mailid"

// The bridge's short names for bridge/mailid (meetings, the router).
func itemID(folderID string, uid uint32) string    { return mailid.Item(folderID, uid) }
func parseItemID(id string) (string, uint32, bool) { return mailid.ParseItem(id) }
