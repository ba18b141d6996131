package bridge

import "github.com/idlebridge/idlebridge/bridge/mailid"

// The mail engine's short names for bridge/mailid, until the engine has
// its own package.
func itemID(folderID string, uid uint32) string    { return mailid.Item(folderID, uid) }
func parseItemID(id string) (string, uint32, bool) { return mailid.ParseItem(id) }
func parsePartPath(s string) ([]int, bool)         { return mailid.ParsePartPath(s) }
func formatPartPath(p []int) string                { return mailid.FormatPartPath(p) }
