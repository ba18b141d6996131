package mail

import (
	"context"
	"strings"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/mailconv"
	"github.com/idlebridge/idlebridge/bridge/mailid"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// deviceCommands carries out the device's Commands of a Sync: Change
// (flags, or a draft's content), Delete (to Trash or expunge), Fetch, and
// Add: a draft in the Drafts folder at 16.x (drafts.go); anywhere
// else refused with Status 6, since Email items are created by SendMail.
// What the device now holds goes into applied, so the next Sync does not
// echo it back; mm's draft book is updated. It returns how many messages
// left the mailbox. cmds are the request's commands (the engine passes
// those other than Fetch, which it answers through the job's Fetch).
func (j *syncJob) deviceCommands(ctx context.Context, s *imap.Session, cmds []activesync.SyncCommand, mm *mailMeta, res *activesync.SyncResult, applied *state.Delta) (uint32, error) {
	st, err := s.Select(ctx, j.mailbox, false)
	if err != nil {
		return 0, err
	}
	if mm.uidValidity != 0 && st.UIDValidity != mm.uidValidity {
		return 0, errUIDValidity
	}
	folder := j.c.CollectionID
	var uids []uint32
	for _, cmd := range cmds {
		if f, uid, ok := mailid.ParseItem(cmd.ServerID); ok && f == folder {
			uids = append(uids, uid)
		}
	}
	current := map[uint32][]string{}
	if len(uids) > 0 {
		infos, err := s.FetchFlags(ctx, imap.UIDs(uids...), 0)
		if err != nil {
			return 0, err
		}
		for _, f := range infos {
			current[f.UID] = f.Flags
		}
	}
	lookup := func(id string) (uint32, bool) {
		f, uid, ok := mailid.ParseItem(id)
		if !ok || f != folder {
			return 0, false
		}
		_, exists := current[uid]
		return uid, exists
	}
	notFound := func(cmd activesync.SyncCommand) {
		res.Responses = append(res.Responses, activesync.SyncItemResponse{
			Kind: cmd.Kind, ServerID: cmd.ServerID, ClientID: cmd.ClientID, Status: activesync.SyncStatusNotFound,
		})
	}
	drafts := false
	for _, cmd := range cmds {
		if cmd.Kind == "Add" || (cmd.Kind == "Change" && mailconv.IsDraftContent(cmd.Data)) {
			if drafts, err = j.draftsHere(ctx, s); err != nil {
				return 0, err
			}
			break
		}
	}
	var changed, doomed []uint32
	for _, cmd := range cmds {
		switch cmd.Kind {
		case "Add":
			if !drafts || cmd.Data == nil {
				res.Responses = append(res.Responses, activesync.SyncItemResponse{
					Kind: "Add", ClientID: cmd.ClientID, Status: activesync.SyncStatusConversionError,
				})
				continue
			}
			if err := j.addDraft(ctx, s, cmd, mm, res, applied); err != nil {
				return 0, err
			}
		case "Change":
			uid, ok := lookup(cmd.ServerID)
			if !ok {
				notFound(cmd)
				continue
			}
			if drafts && mailconv.IsDraftContent(cmd.Data) {
				if err := j.replaceDraft(ctx, s, cmd, uid, res); err != nil {
					return 0, err
				}
				delete(current, uid) // gone upstream: a later command on it is "not found"
				continue
			}
			if err := storeChange(ctx, s, uid, current[uid], mailconv.ParseChange(cmd.Data)); err != nil {
				if !isServerNo(err) {
					return 0, err
				}
				j.m.log.Warn("sync: change refused upstream", "user", j.user, "device", j.deviceID, "item", cmd.ServerID, "err", err)
				res.Responses = append(res.Responses, activesync.SyncItemResponse{Kind: "Change", ServerID: cmd.ServerID, Status: activesync.SyncStatusConversionError})
				continue
			}
			changed = append(changed, uid)
		case "Delete":
			uid, ok := lookup(cmd.ServerID)
			if !ok {
				notFound(cmd)
				continue
			}
			doomed = append(doomed, uid)
			delete(current, uid) // a second Delete of it is "not found"
		case "Fetch":
			uid, ok := lookup(cmd.ServerID)
			if !ok {
				notFound(cmd)
				continue
			}
			fr, err := j.m.fetchItems(ctx, s, folder, []uint32{uid}, j.opts, 0, true)
			if err != nil {
				return 0, err
			}
			items := fr.items
			if len(items) == 0 {
				notFound(cmd)
				continue
			}
			res.Responses = append(res.Responses, activesync.SyncItemResponse{
				Kind: "Fetch", ServerID: cmd.ServerID, Status: activesync.SyncStatusOK, Data: items[0].data,
			})
		}
	}
	if len(changed) > 0 {
		infos, err := s.FetchFlags(ctx, imap.UIDs(changed...), 0)
		if err != nil {
			return 0, err
		}
		for _, f := range infos {
			applied.Set[mailid.Item(folder, f.UID)] = flagSignature(f.Flags)
		}
	}
	if len(doomed) > 0 {
		if err := j.deleteMessages(ctx, s, doomed); err != nil {
			return 0, err
		}
		for _, uid := range doomed {
			id := mailid.Item(folder, uid)
			delete(applied.Set, id)
			applied.Del = append(applied.Del, id)
		}
	}
	return uint32(len(doomed)), nil
}

// deleteMessages moves messages to Trash when the device asked for
// DeletesAsMoves (the default) and this is not Trash; otherwise it
// expunges them (MS-ASCMD 2.2.3.42.2).
func (j *syncJob) deleteMessages(ctx context.Context, s *imap.Session, uids []uint32) error {
	if j.c.DeletesAsMoves {
		folders, err := s.ListFolders(ctx)
		if err != nil {
			return err
		}
		for _, f := range folders {
			if f.Special == imap.SpecialTrash && f.Name != j.mailbox {
				// Trash changes too (the folder itself was marked by Apply).
				if err := j.m.markChanging(ctx, j.user, f.Name); err != nil {
					return err
				}
				_, err := s.Move(ctx, imap.UIDs(uids...), f.Name)
				return err
			}
		}
	}
	return s.Expunge(ctx, imap.UIDs(uids...))
}

// storeChange applies a device's Change to one message's flags.
func storeChange(ctx context.Context, s *imap.Session, uid uint32, flags []string, ch mailconv.EmailChange) error {
	var add, remove []string
	toggle := func(v *bool, flag string) {
		switch {
		case v == nil:
		case *v:
			add = append(add, flag)
		default:
			remove = append(remove, flag)
		}
	}
	toggle(ch.Read, `\Seen`)
	toggle(ch.Flagged, `\Flagged`)
	if ch.Categories != nil {
		want := map[string]bool{}
		for _, c := range *ch.Categories {
			if kw := categoryKeyword(c); kw != "" {
				want[strings.ToLower(kw)] = true
				add = append(add, kw)
			}
		}
		for _, f := range flags {
			if isCategoryKeyword(f) && !want[strings.ToLower(f)] {
				remove = append(remove, f)
			}
		}
	}
	if len(add) > 0 {
		if err := s.Store(ctx, imap.UIDs(uid), imap.StoreAdd, add); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		return s.Store(ctx, imap.UIDs(uid), imap.StoreRemove, remove)
	}
	return nil
}

// isCategoryKeyword mirrors how mailconv shows keywords as categories:
// user keywords, not system flags ("\") nor client state ("$", junk marks).
func isCategoryKeyword(f string) bool {
	if f == "" || f[0] == '\\' || f[0] == '$' {
		return false
	}
	switch strings.ToLower(f) {
	case "junk", "nonjunk", "notjunk":
		return false
	}
	return true
}

// categoryKeyword turns a category name into an IMAP keyword (an atom,
// RFC 3501 9: no spaces, parentheses, wildcards, quotes or brackets).
func categoryKeyword(c string) string {
	c = strings.TrimSpace(c)
	if !isCategoryKeyword(c) {
		return ""
	}
	kw := strings.Map(func(r rune) rune {
		switch {
		case r <= ' ' || r >= 0x7f:
			return '_'
		case strings.ContainsRune(`(){%*"\]`, r):
			return '_'
		}
		return r
	}, c)
	if !isCategoryKeyword(kw) || len(kw) > 100 {
		return ""
	}
	return kw
}
