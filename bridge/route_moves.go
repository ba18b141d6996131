package bridge

import (
	"context"
	"errors"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/foldermap"
	"github.com/idlebridge/idlebridge/bridge/mail"
	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/upstream/imap"
)

// MoveItems implements activesync.Mover. Each move is routed by the kinds
// of its two folders: mail moves run on one IMAP session (UID MOVE), a
// move between two collections of one other kind runs through the source
// Job's engine.Mover, and a move across kinds (a message into a calendar)
// is refused as an invalid destination (MS-ASCMD 2.2.3.177.10 Status 2).
// Both folders of every move that succeeded are notified.
func (b *Bridge) MoveItems(ctx context.Context, a activesync.Account, deviceID string, moves []activesync.Move) ([]activesync.MoveResult, error) {
	acct, err := account(a)
	if err != nil {
		return nil, err
	}
	user := acct.Address()
	refs := map[string]*engine.Ref{} // folder ID → ref (nil: not in the map), read once per request
	resolve := func(id string) (*engine.Ref, error) {
		if r, ok := refs[id]; ok {
			return r, nil
		}
		r, ok, err := foldermap.RefOf(ctx, b.Store, user, id)
		if err != nil {
			return nil, storeErr(err)
		}
		if !ok {
			refs[id] = nil
			return nil, nil
		}
		refs[id] = &r
		return &r, nil
	}
	out := make([]activesync.MoveResult, len(moves))
	type mailMove struct {
		i        int
		src, dst string
	}
	var mail []mailMove
	for i, mv := range moves {
		srcID := itemFolder(mv.SrcFldID, mv.SrcMsgID)
		src, err := resolve(srcID)
		if err != nil {
			return nil, err
		}
		if src == nil {
			out[i] = activesync.MoveResult{Status: activesync.MoveStatusBadSource}
			continue
		}
		dst, err := resolve(mv.DstFldID)
		if err != nil {
			return nil, err
		}
		switch {
		case dst == nil || dst.Kind != src.Kind:
			out[i] = activesync.MoveResult{Status: activesync.MoveStatusBadDest}
		case src.Kind == engine.KindMail:
			mail = append(mail, mailMove{i, src.Path, dst.Path})
		default:
			if out[i], err = b.moveClassItem(ctx, acct, deviceID, mv, srcID, *src, *dst); err != nil {
				return nil, err
			}
		}
	}
	if len(mail) > 0 {
		err := b.Mail.WithSession(ctx, acct, "MoveItems", func(s *imap.Session) error {
			for _, mm := range mail {
				r, err := b.Mail.MoveResolved(ctx, s, user, deviceID, moves[mm.i], mm.src, mm.dst)
				if err != nil {
					return err
				}
				out[mm.i] = r
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if b.Push != nil {
		seen := map[string]bool{}
		for i, mv := range moves {
			if out[i].Status != activesync.MoveStatusOK {
				continue
			}
			for _, f := range []string{itemFolder(mv.SrcFldID, mv.SrcMsgID), mv.DstFldID} {
				if !seen[f] {
					seen[f] = true
					b.Push.Notify(ctx, user, f, deviceID)
				}
			}
		}
	}
	return out, nil
}

// moveClassItem moves one item between two collections of one non-mail
// kind. The device shows the move already, so both snapshots change in
// place: the source forgets the item, the destination records the new ID
// with an unknown version (engine.Mover returns none), so its next Sync
// sends the item once as a Change rather than a duplicate Add.
func (b *Bridge) moveClassItem(ctx context.Context, acct *Account, deviceID string, mv activesync.Move, srcID string, src, dst engine.Ref) (res activesync.MoveResult, err error) {
	if srcID == mv.DstFldID {
		return activesync.MoveResult{Status: activesync.MoveStatusSameFolder}, nil
	}
	cls := b.classOf(src.Kind)
	if cls == nil {
		return activesync.MoveResult{Status: activesync.MoveStatusBadSource}, nil
	}
	user := acct.Address()
	log := b.Log.With("user", user, "device", deviceID, "collection", srcID, "item", mv.SrcMsgID)
	job, err := cls.Source.Open(ctx, b.call(ctx, acct, deviceID, srcID, src, activesync.SyncOptions{}))
	if err != nil {
		return b.classMoveErr(log, err)
	}
	defer func() { job.Close(err) }()
	mover, ok := job.(engine.Mover)
	if !ok {
		log.Info("move: this item class cannot move items")
		return activesync.MoveResult{Status: activesync.MoveStatusFailed}, nil
	}
	newID, err := mover.Move(ctx, mv.SrcMsgID, dst, mv.DstFldID)
	if err != nil {
		return b.classMoveErr(log, err)
	}
	if err := mail.ApplyOnly(ctx, b.Store, user, deviceID, srcID, &state.Delta{Del: []string{mv.SrcMsgID}}); err != nil {
		return activesync.MoveResult{}, err
	}
	if err := mail.ApplyOnly(ctx, b.Store, user, deviceID, mv.DstFldID, &state.Delta{Set: map[string]string{newID: ""}}); err != nil {
		return activesync.MoveResult{}, err
	}
	return activesync.MoveResult{Status: activesync.MoveStatusOK, DstMsgID: newID}, nil
}

// classMoveErr: outages fail the request (the device retries); a source's
// own MoveItems status (CommandStatus: bad source, same folder, ...) is
// this move's answer; anything else fails this move only (Status 5,
// logged).
func (b *Bridge) classMoveErr(log interface{ Warn(string, ...any) }, err error) (activesync.MoveResult, error) {
	if errors.Is(err, activesync.ErrUnavailable) || errors.Is(err, state.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return activesync.MoveResult{}, upstreamErr(err)
	}
	var ae *activesync.Error
	if errors.As(err, &ae) && ae.Command {
		switch st := int(ae.Status); st {
		case activesync.MoveStatusBadSource, activesync.MoveStatusBadDest, activesync.MoveStatusSameFolder:
			return activesync.MoveResult{Status: st}, nil
		}
	}
	log.Warn("move refused upstream", "err", err)
	return activesync.MoveResult{Status: activesync.MoveStatusFailed}, nil
}
