package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
)

// ClientId idempotence (MS-ASCMD 2.2.3.29.2: the ClientId lets the server
// spot a SendMail the device resends after a lost answer). Per device the
// store keeps, in collection clientIDCollection, ClientId → "<state>:<unix
// seconds>" with state "inflight" (claimed, being sent) or "sent".
//
// The crash window: a bridge that dies after the provider accepted the
// message but before "sent" is written leaves "inflight". A retry that
// finds an inflight marker older than InFlightGrace cannot know whether
// the message went; the engine then does NOT send again and answers
// success, logging an error: a lost message is visible to the user (it is
// not in Sent, nobody answers), a duplicate sent to every recipient is
// not undoable. A marker younger than the grace is a concurrent retry of
// a send still running: that one is told to retry later.
const clientIDCollection = "sendmail.clientids"

const (
	clientIDInFlight = "inflight"
	clientIDSent     = "sent"
)

// claimResult says what to do with a ClientId.
type claimResult int

const (
	claimSend      claimResult = iota // new: send it
	claimDuplicate                    // sent before: answer success, send nothing
	claimAmbiguous                    // stale in-flight marker: answer success, send nothing
	claimBusy                         // being sent right now by another request
)

// claimClientID records an in-flight marker for id unless one exists, and
// prunes markers older than the TTL in the same write.
func (s *Sender) claimClientID(ctx context.Context, user, deviceID, id string) (claimResult, error) {
	now := s.now()
	var result claimResult
	err := s.editClientIDs(ctx, user, deviceID, func(snap map[string]string, d *state.Delta) {
		st, at, ok := parseClientIDMark(snap[id])
		switch {
		case ok && st == clientIDSent:
			result = claimDuplicate
			return
		case ok && st == clientIDInFlight && now.Sub(at) < s.opts.InFlightGrace:
			result = claimBusy
			return
		case ok && st == clientIDInFlight:
			result = claimAmbiguous
			return
		}
		result = claimSend
		d.Set[id] = clientIDMark(clientIDInFlight, now)
		for k, v := range snap {
			if _, at, ok := parseClientIDMark(v); k != id && (!ok || now.Sub(at) > s.opts.ClientIDTTL) {
				d.Del = append(d.Del, k)
			}
		}
	})
	return result, err
}

// markClientIDSent turns the in-flight marker into "sent".
func (s *Sender) markClientIDSent(ctx context.Context, user, deviceID, id string) error {
	now := s.now()
	return s.editClientIDs(ctx, user, deviceID, func(_ map[string]string, d *state.Delta) {
		d.Set[id] = clientIDMark(clientIDSent, now)
	})
}

// releaseClientID forgets a claim whose send failed, so the device's
// retry sends.
func (s *Sender) releaseClientID(ctx context.Context, user, deviceID, id string) error {
	return s.editClientIDs(ctx, user, deviceID, func(_ map[string]string, d *state.Delta) {
		d.Del = append(d.Del, id)
	})
}

// editClientIDs applies edit under compare-and-swap.
func (s *Sender) editClientIDs(ctx context.Context, user, deviceID string, edit func(snap map[string]string, d *state.Delta)) error {
	for range casRetries {
		var gen uint64
		col, err := s.store.GetCollection(ctx, user, deviceID, clientIDCollection)
		switch {
		case errors.Is(err, state.ErrNotFound):
		case err != nil:
			return fmt.Errorf("client ids: %w", err)
		default:
			gen = col.Generation
		}
		snap, err := s.store.Snapshot(ctx, user, deviceID, clientIDCollection)
		if err != nil {
			return fmt.Errorf("client ids: %w", err)
		}
		d := &state.Delta{Set: map[string]string{}}
		edit(snap, d)
		if d.Empty() {
			return nil
		}
		_, err = s.store.Commit(ctx, user, deviceID, clientIDCollection, gen, state.CommitRequest{Apply: d})
		if errors.Is(err, state.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("client ids: %w", err)
		}
		return nil
	}
	return fmt.Errorf("client ids: %w", state.ErrConflict)
}

func clientIDMark(st string, at time.Time) string {
	return st + ":" + strconv.FormatInt(at.Unix(), 10)
}

func parseClientIDMark(v string) (string, time.Time, bool) {
	st, sec, ok := strings.Cut(v, ":")
	if !ok {
		return "", time.Time{}, false
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return st, time.Unix(n, 0), true
}
