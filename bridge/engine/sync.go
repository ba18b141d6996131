package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Errors a Job returns to make the engine answer with a status instead of
// failing the request.
var (
	// ErrResync: the collection upstream is not the one the device synced
	// (a mailbox recreated with a new UIDVALIDITY, a calendar replaced):
	// the engine drops the state and answers Status 3, so the device
	// starts over at key 0.
	ErrResync = errors.New("engine: collection changed identity, device must resync")
	// ErrGone: the collection is in the folder map but no longer
	// upstream: Status 12, the device runs FolderSync.
	ErrGone = errors.New("engine: collection gone upstream")
)

// Outcome is what one Sync sent, for a Finisher.
type Outcome struct {
	Plan    *Plan
	Sent    []string // IDs of the items sent with data (Change and Add)
	Skipped []string // IDs Fetch could not deliver
	More    bool     // MoreAvailable
}

// Finisher is a Job that decides the Meta to store from the outcome
// (mail books messages that failed to fetch there). Its answer replaces
// Plan.Meta/MetaPartial. It is asked for a Sync without GetChanges too
// (Outcome.Plan nil): the device's commands may have changed the source
// state (mail counts the messages it deleted).
type Finisher interface {
	Finish(ctx context.Context, o Outcome) map[string]string
}

// Engine runs Sync, GetItemEstimate, ItemOperations Fetch and Ping's
// "has changes" over any Source.
type Engine struct {
	Store state.Store
}

// Sync answers one collection of a Sync request. call.Header and
// call.Role are filled here.
func (e *Engine) Sync(ctx context.Context, src Source, call *Call, c *activesync.SyncCollection) (res *activesync.SyncResult, err error) {
	if err := e.load(ctx, call, c.SyncKey); err != nil {
		return nil, err
	}
	call.Sync = c
	if call.Role == Unknown {
		return &activesync.SyncResult{Status: activesync.SyncStatusInvalidKey, SyncKey: "0"}, nil
	}
	job, err := src.Open(ctx, call)
	if err != nil {
		return e.statusFor(ctx, call, c, err)
	}
	defer func() { job.Close(err) }()
	res, err = e.sync(ctx, job, call, c)
	if err != nil {
		return e.statusFor(ctx, call, c, err)
	}
	return res, nil
}

func (e *Engine) load(ctx context.Context, call *Call, key string) error {
	col, err := Header(ctx, e.Store, call.User, call.DeviceID, call.CollectionID)
	if err != nil {
		return err
	}
	call.Header, call.Role, call.Store = col, Classify(col, key), e.Store
	return nil
}

// statusFor turns a Job's ErrResync/ErrGone into the Sync status.
func (e *Engine) statusFor(ctx context.Context, call *Call, c *activesync.SyncCollection, err error) (*activesync.SyncResult, error) {
	switch {
	case errors.Is(err, ErrResync):
		if rerr := e.Store.ResetCollection(ctx, call.User, call.DeviceID, call.CollectionID); rerr != nil {
			return nil, fmt.Errorf("reset collection: %w", rerr)
		}
		return &activesync.SyncResult{Status: activesync.SyncStatusInvalidKey, SyncKey: "0"}, nil
	case errors.Is(err, ErrGone):
		return &activesync.SyncResult{Status: activesync.SyncStatusHierarchyChanged, SyncKey: c.SyncKey}, nil
	}
	return nil, err
}

func (e *Engine) sync(ctx context.Context, job Job, call *Call, c *activesync.SyncCollection) (*activesync.SyncResult, error) {
	if call.Role == Initial {
		meta, err := job.Reset(ctx)
		if err != nil {
			return nil, err
		}
		if err := e.Store.ResetCollection(ctx, call.User, call.DeviceID, call.CollectionID); err != nil {
			return nil, fmt.Errorf("reset collection: %w", err)
		}
		key, err := Commit(ctx, e.Store, call.User, call.DeviceID, call.CollectionID, nil, Initial, Answer{Meta: withSupported(meta, c.Supported)})
		if err != nil {
			return nil, err
		}
		return &activesync.SyncResult{Status: activesync.SyncStatusOK, SyncKey: key}, nil
	}
	res := &activesync.SyncResult{Status: activesync.SyncStatusOK}
	applied := &state.Delta{Set: map[string]string{}}
	// Commands run in the device's order (MS-ASCMD 2.2.3.177.17: the
	// Responses follow the Commands): consecutive edits go to Apply as one
	// batch, and a Fetch sees what the edits before it did.
	var edits []activesync.SyncCommand
	flush := func() error {
		if len(edits) == 0 {
			return nil
		}
		resps, d, err := job.Apply(ctx, edits)
		edits = nil
		if err != nil {
			return err
		}
		res.Responses = append(res.Responses, resps...)
		mergeDelta(applied, d)
		return nil
	}
	for _, cmd := range c.Commands {
		if cmd.Kind != "Fetch" {
			edits = append(edits, cmd)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		items, _, _, err := job.Fetch(ctx, []string{cmd.ServerID}, Budget{})
		if err != nil {
			return nil, err
		}
		r := activesync.SyncItemResponse{Kind: "Fetch", ServerID: cmd.ServerID, Status: activesync.SyncStatusNotFound}
		if len(items) == 1 && items[0].Data != nil {
			r.Status, r.Data = activesync.SyncStatusOK, items[0].Data
		}
		res.Responses = append(res.Responses, r)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	pending := &state.Delta{Set: map[string]string{}}
	var meta map[string]string
	if c.GetChanges {
		plan, err := job.Plan(ctx, &view{e: e, call: call, applied: applied})
		if err != nil {
			return nil, err
		}
		if !plan.Unchanged {
			out, err := e.window(ctx, job, plan, c, res, pending)
			if err != nil {
				return nil, err
			}
			res.MoreAvailable = out.More // also when the window ended within the deletes
			meta = plan.Meta
			if out.More {
				meta = plan.MetaPartial
			}
			if f, ok := job.(Finisher); ok {
				meta = f.Finish(ctx, out)
			}
		} else if f, ok := job.(Finisher); ok {
			meta = f.Finish(ctx, Outcome{Plan: plan})
		} else {
			meta = plan.Meta
		}
	} else if f, ok := job.(Finisher); ok {
		meta = f.Finish(ctx, Outcome{})
	}
	key, err := Commit(ctx, e.Store, call.User, call.DeviceID, call.CollectionID, call.Header, call.Role, Answer{
		Applied: applied, Pending: pending, Meta: keepEngineMeta(meta, call.Header), Commands: len(c.Commands),
	})
	if err != nil {
		return nil, err
	}
	res.SyncKey = key
	return res, nil
}

// window fills res with the plan's first WindowSize changes: deletes and
// soft deletes first (cheap, and they free room on the device), then
// changes, then adds.
func (e *Engine) window(ctx context.Context, job Job, plan *Plan, c *activesync.SyncCollection, res *activesync.SyncResult, pending *state.Delta) (Outcome, error) {
	out := Outcome{Plan: plan}
	budget := max(c.WindowSize, 1)
	for _, list := range []struct {
		kind string
		ids  []string
	}{{"Delete", plan.Deletes}, {"SoftDelete", plan.SoftDeletes}} {
		for _, id := range list.ids {
			if budget == 0 {
				out.More = true
				return out, nil
			}
			res.Commands = append(res.Commands, activesync.SyncItem{Kind: list.kind, ServerID: id})
			pending.Del = append(pending.Del, id)
			budget--
		}
	}
	kinds := map[string]string{}
	var want []string
	for _, id := range plan.Changes {
		kinds[id] = "Change"
		want = append(want, id)
	}
	for _, id := range plan.Adds {
		kinds[id] = "Add"
		want = append(want, id)
	}
	if len(want) > budget {
		want, out.More = want[:budget], true
	}
	if len(want) == 0 {
		return out, nil
	}
	items, skipped, cut, err := job.Fetch(ctx, want, Budget{MaxBytes: c.MaxBytes, FirstItemFree: c.FirstItemFree})
	if err != nil {
		return out, err
	}
	out.More = out.More || cut
	out.Skipped = skipped
	for _, it := range items {
		kind := kinds[it.ServerID]
		if kind == "" {
			continue // not asked for: a source bug, never sent
		}
		v := it.Version
		if v == "" {
			v = plan.Versions[it.ServerID]
		}
		pending.Set[it.ServerID] = v
		if it.Data == nil {
			continue // given up on: recorded so it stops coming back, never sent
		}
		res.Commands = append(res.Commands, activesync.SyncItem{Kind: kind, ServerID: it.ServerID, Data: it.Data})
		out.Sent = append(out.Sent, it.ServerID)
	}
	res.MoreAvailable = out.More
	return out, nil
}

// Estimate answers GetItemEstimate: how many changes the next Sync of the
// collection would bring. An unknown key is
// CommandStatus(EstimateStatusBadKey); a collection never synced is
// CommandStatus(EstimateStatusNotPrimed).
func (e *Engine) Estimate(ctx context.Context, src Source, call *Call, syncKey string) (n int, err error) {
	if err := e.load(ctx, call, syncKey); err != nil {
		return 0, err
	}
	switch {
	case call.Header == nil || call.Role == Initial:
		return 0, activesync.CommandStatus(activesync.EstimateStatusNotPrimed, "collection not synced yet")
	case call.Role == Unknown:
		return 0, activesync.CommandStatus(activesync.EstimateStatusBadKey, "unknown sync key")
	}
	job, err := src.Open(ctx, call)
	if err != nil {
		return 0, estimateErr(err)
	}
	defer func() { job.Close(err) }()
	plan, err := job.Plan(ctx, &view{e: e, call: call})
	if err != nil {
		return 0, estimateErr(err)
	}
	if plan.Unchanged {
		return 0, nil
	}
	return plan.Count(), nil
}

// estimateErr gives ErrResync and ErrGone their GetItemEstimate statuses
// (MS-ASCMD 2.2.3.177.7: 4 the key no longer fits, 2 no such collection).
func estimateErr(err error) error {
	switch {
	case errors.Is(err, ErrResync):
		return &activesync.Error{Status: activesync.EstimateStatusBadKey, Command: true, Msg: "collection changed identity", Err: err}
	case errors.Is(err, ErrGone):
		return &activesync.Error{Status: activesync.EstimateStatusBadCollection, Command: true, Msg: "collection gone upstream", Err: err}
	}
	return err
}

// HasChanges reports whether the device's next Sync of the collection
// would carry anything (Ping). A collection the device never synced has
// none: it must Sync first (some devices Ping folders they never sync,
// and waking them for those would start a loop). An invalid key or a
// collection gone counts as a change: the device learns it on its next
// Sync, and answering the Ping makes it Sync now.
func (e *Engine) HasChanges(ctx context.Context, src Source, call *Call) (bool, error) {
	col, err := Header(ctx, e.Store, call.User, call.DeviceID, call.CollectionID)
	if err != nil || col == nil || col.SyncKey == "" || col.SyncKey == "0" {
		return false, err
	}
	call.Cached = true
	n, err := e.Estimate(ctx, src, call, col.SyncKey)
	if err != nil {
		var ae *activesync.Error
		if errors.As(err, &ae) && ae.Command || errors.Is(err, ErrResync) || errors.Is(err, ErrGone) {
			return true, nil
		}
		return false, err
	}
	return n > 0, nil
}

// FetchItem answers ItemOperations Fetch of one item: its ApplicationData,
// or CommandStatus(ItemOpsStatusNotFound).
func (e *Engine) FetchItem(ctx context.Context, src Source, call *Call, serverID string) (it *Item, err error) {
	if err := e.load(ctx, call, ""); err != nil {
		return nil, err
	}
	job, err := src.Open(ctx, call)
	if err != nil {
		return nil, fetchErr(err)
	}
	defer func() { job.Close(err) }()
	items, _, _, err := job.Fetch(ctx, []string{serverID}, Budget{})
	if err != nil {
		return nil, fetchErr(err)
	}
	if len(items) != 1 || items[0].Data == nil {
		return nil, activesync.CommandStatus(activesync.ItemOpsStatusNotFound, "no such item")
	}
	return &items[0], nil
}

// fetchErr: an item of a collection gone upstream (or no longer shown to
// the device) is not found (ItemOperations Status 6), not a server error
// the device would retry.
func fetchErr(err error) error {
	if errors.Is(err, ErrGone) {
		return &activesync.Error{Status: activesync.ItemOpsStatusNotFound, Command: true, Msg: "collection gone upstream", Err: err}
	}
	return err
}

// view is the device's view of a collection with this request's applied
// delta folded in.
type view struct {
	e       *Engine
	call    *Call
	applied *state.Delta
}

func (v *view) All(ctx context.Context) (map[string]string, error) {
	snap, err := DeviceView(ctx, v.e.Store, v.call.User, v.call.DeviceID, v.call.CollectionID, v.call.Header, v.call.Role)
	if err != nil {
		return nil, err
	}
	FoldDelta(snap, v.applied)
	return snap, nil
}

func (v *view) Get(ctx context.Context, ids []string) (map[string]string, error) {
	snap, err := DeviceViewOf(ctx, v.e.Store, v.call.User, v.call.DeviceID, v.call.CollectionID, v.call.Header, v.call.Role, ids)
	if err != nil {
		return nil, err
	}
	FoldDeltaOf(snap, v.applied, ids)
	return snap, nil
}

// mergeDelta adds a later delta d to acc so that acc, applied the store's
// way (Del after Set), has d's effect after acc's own.
func mergeDelta(acc, d *state.Delta) {
	if d == nil {
		return
	}
	for k, v := range d.Set {
		acc.Set[k] = v
		acc.Del = slices.DeleteFunc(acc.Del, func(id string) bool { return id == k })
	}
	for _, k := range d.Del {
		delete(acc.Set, k)
		acc.Del = append(acc.Del, k)
	}
}
