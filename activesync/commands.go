package activesync

import (
	"context"
	"sort"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// handler runs one command. It returns the response document, or nil for
// an empty 200, or a typed error; a handler that streams sets c.wrote.
type handler func(ctx context.Context, c *call) (*wbxml.Element, error)

type bodyKind int

const (
	bodyOptional bodyKind = iota // WBXML when present (Ping, Sync may be empty)
	bodyRequired                 // WBXML, must be present
	bodyRaw                      // not WBXML (12.x SendMail's MIME)
	bodyRawOr                    // WBXML or raw, by Content-Type
	bodyNone                     // no body expected (GetAttachment)
)

// command declares, next to its handler, what a command needs: its
// response root (for status-only answers), whether the device must be
// provisioned, and what its body is.
type command struct {
	name        string
	space, root string // response root element; "" when the answer is not WBXML
	provisioned bool   // the policy key must be valid
	body        bodyKind
	handle      handler
	// needs reports whether the Backend implements what the command calls;
	// nil means the front alone can answer it.
	needs func(Backend) bool
}

func (cmd *command) available(b Backend) bool { return cmd.needs == nil || cmd.needs(b) }

// commandTable is the dispatch: command name → declaration. Commands that
// are listed without a handler are known but not built yet; they answer
// 501 and are left out of OPTIONS.
var commandTable = map[string]*command{}

func init() {
	for _, c := range []*command{
		{name: "Provision", space: wbxml.Provision, root: "Provision", body: bodyRequired, handle: handleProvision},
		{name: "Settings", space: wbxml.Settings, root: "Settings", body: bodyRequired, handle: handleSettings},

		{name: "FolderSync", space: wbxml.FolderHierarchy, root: "FolderSync", provisioned: true, body: bodyRequired, handle: handleFolderSync, needs: folderSyncer},
		{name: "FolderCreate", space: wbxml.FolderHierarchy, root: "FolderCreate", provisioned: true, body: bodyRequired, handle: handleFolderCreate, needs: folderSyncer},
		{name: "FolderUpdate", space: wbxml.FolderHierarchy, root: "FolderUpdate", provisioned: true, body: bodyRequired, handle: handleFolderUpdate, needs: folderSyncer},
		{name: "FolderDelete", space: wbxml.FolderHierarchy, root: "FolderDelete", provisioned: true, body: bodyRequired, handle: handleFolderDelete, needs: folderSyncer},
		{name: "Sync", space: wbxml.AirSync, root: "Sync", provisioned: true, handle: handleSync, needs: syncer},
		{name: "GetItemEstimate", space: wbxml.GetItemEstimate, root: "GetItemEstimate", provisioned: true, body: bodyRequired, handle: handleGetItemEstimate, needs: estimator},
		{name: "ItemOperations", space: wbxml.ItemOperations, root: "ItemOperations", provisioned: true, body: bodyRequired, handle: handleItemOperations, needs: itemFetcher},
		{name: "MoveItems", space: wbxml.Move, root: "MoveItems", provisioned: true, body: bodyRequired, handle: handleMoveItems, needs: mover},
		{name: "Ping", space: wbxml.Ping, root: "Ping", provisioned: true, handle: handlePing, needs: pinger},
		{name: "SendMail", space: wbxml.ComposeMail, root: "SendMail", provisioned: true, body: bodyRawOr, handle: handleSendMail, needs: sender},
		{name: "SmartReply", space: wbxml.ComposeMail, root: "SmartReply", provisioned: true, body: bodyRawOr, handle: handleSendMail, needs: sender},
		{name: "SmartForward", space: wbxml.ComposeMail, root: "SmartForward", provisioned: true, body: bodyRawOr, handle: handleSendMail, needs: sender},
		{name: "GetAttachment", provisioned: true, body: bodyNone, handle: handleGetAttachment, needs: itemFetcher},
		{name: "MeetingResponse", space: wbxml.MeetingResponse, root: "MeetingResponse", provisioned: true, body: bodyRequired, handle: handleMeetingResponse, needs: meetingResponder},
		{name: "Search", space: wbxml.Search, root: "Search", provisioned: true, body: bodyRequired, handle: handleSearch, needs: searcher},
		{name: "Find", space: wbxml.Find, root: "Find", provisioned: true, body: bodyRequired, handle: handleFind, needs: searcher},
		{name: "ResolveRecipients", space: wbxml.ResolveRecipients, root: "ResolveRecipients", provisioned: true, body: bodyRequired, handle: handleResolveRecipients, needs: recipientResolver},
		{name: "ValidateCert", space: wbxml.ValidateCert, root: "ValidateCert", provisioned: true},
	} {
		commandTable[c.name] = c
	}
}

// supportedCommands lists, for OPTIONS, the commands this server answers
// with the configured Backend.
func (s *Server) supportedCommands() []string {
	var names []string
	for name, c := range commandTable {
		if c.handle != nil && c.available(s.Backend) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
