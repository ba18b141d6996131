package bridgetest

import (
	"context"
	"errors"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/bridge/state"
)

// Notes is the trivial item class of issue 12's reviewer check: one
// read-only folder backed by a fixed list (name → version) that a test
// edits, with a hierarchy that can be made to fail and a watcher the test
// fires. It is all a new class has to write: the bridge routes to it by
// kind, with no copy of the engine.
type Notes struct {
	mu       sync.Mutex
	items    map[string]string // name → version
	failList bool
	name     string // the folder's display name
	watching map[string]engine.Ref
	changed  func(collectionID string)
}

// KindNotes is the Notes class's kind.
const KindNotes engine.Kind = "notes"

// notesFolderType is the default Notes folder (MS-ASCMD 2.2.3.186.3).
const notesFolderType = 10

// NotesRef is what the Notes folder's collection ID names.
var NotesRef = engine.Ref{Kind: KindNotes, Path: "/notes/"}

// NewNotes returns a Notes class holding items (name → version).
func NewNotes(items map[string]string) *Notes {
	return &Notes{items: maps.Clone(items), name: "Notes"}
}

// Class is the engine.Class to plug in (Options.Classes).
func (n *Notes) Class() engine.Class {
	return engine.Class{Kinds: []engine.Kind{KindNotes}, Source: n, Hierarchy: notesHierarchy{n}, Watcher: notesWatcher{n}}
}

// Set changes (or adds) an item upstream and tells the watcher, as a DAV
// poll would on a new ETag.
func (n *Notes) Set(name, version string) {
	n.mu.Lock()
	n.items[name] = version
	watched, changed := maps.Clone(n.watching), n.changed
	n.mu.Unlock()
	if changed == nil {
		return
	}
	for id := range watched {
		changed(id)
	}
}

// Rename renames the folder upstream (a hierarchy change no device made).
func (n *Notes) Rename(name string) {
	n.mu.Lock()
	n.name = name
	n.mu.Unlock()
}

// FailList makes the hierarchy listing fail (an outage of the class's
// upstream) or work again.
func (n *Notes) FailList(fail bool) {
	n.mu.Lock()
	n.failList = fail
	n.mu.Unlock()
}

// Watched returns the collection IDs the watcher runs for.
func (n *Notes) Watched() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for id := range n.watching {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type notesHierarchy struct{ n *Notes }

func (h notesHierarchy) Kinds() []engine.Kind { return []engine.Kind{KindNotes} }

func (h notesHierarchy) Folders(context.Context, *accounts.Principal, engine.Client) ([]engine.Folder, error) {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	if h.n.failList {
		return nil, errors.New("notes: upstream unavailable")
	}
	return []engine.Folder{{Ref: NotesRef, DisplayName: h.n.name, Type: notesFolderType}}, nil
}

type notesWatcher struct{ n *Notes }

func (w notesWatcher) Kinds() []engine.Kind { return []engine.Kind{KindNotes} }

func (w notesWatcher) Watch(ctx context.Context, _ *accounts.Principal, folders map[string]engine.Ref, changed func(string)) engine.WatchHandle {
	w.n.mu.Lock()
	w.n.watching, w.n.changed = maps.Clone(folders), changed
	w.n.mu.Unlock()
	go func() {
		<-ctx.Done()
		w.n.mu.Lock()
		w.n.watching, w.n.changed = nil, nil
		w.n.mu.Unlock()
	}()
	return w
}

func (w notesWatcher) Update(_ *accounts.Principal, folders map[string]engine.Ref) {
	w.n.mu.Lock()
	w.n.watching = maps.Clone(folders)
	w.n.mu.Unlock()
}

// Open implements engine.Source.
func (n *Notes) Open(_ context.Context, c *engine.Call) (engine.Job, error) {
	if c.Ref != NotesRef {
		return nil, engine.ErrGone
	}
	return &notesJob{n: n, prefix: c.CollectionID + ":"}, nil
}

type notesJob struct {
	n      *Notes
	prefix string
}

func (j *notesJob) Reset(context.Context) (map[string]string, error) { return nil, nil }
func (j *notesJob) Close(error)                                      {}

// Apply refuses every edit: the class is read-only.
func (j *notesJob) Apply(_ context.Context, cmds []activesync.SyncCommand) ([]activesync.SyncItemResponse, *state.Delta, error) {
	var out []activesync.SyncItemResponse
	for _, c := range cmds {
		out = append(out, activesync.SyncItemResponse{Kind: c.Kind, ServerID: c.ServerID, ClientID: c.ClientID, Status: activesync.SyncStatusNotFound})
	}
	return out, nil, nil
}

func (j *notesJob) Plan(ctx context.Context, v engine.View) (*engine.Plan, error) {
	have, err := v.All(ctx)
	if err != nil {
		return nil, err
	}
	j.n.mu.Lock()
	items := maps.Clone(j.n.items)
	j.n.mu.Unlock()
	p := &engine.Plan{Versions: map[string]string{}}
	for id := range have {
		if _, ok := items[strings.TrimPrefix(id, j.prefix)]; !ok {
			p.Deletes = append(p.Deletes, id)
		}
	}
	for name, ver := range items {
		id := j.prefix + name
		old, ok := have[id]
		switch {
		case !ok:
			p.Adds = append(p.Adds, id)
		case old != ver:
			p.Changes = append(p.Changes, id)
		default:
			continue
		}
		p.Versions[id] = ver
	}
	sort.Strings(p.Deletes)
	sort.Strings(p.Changes)
	sort.Strings(p.Adds)
	return p, nil
}

func (j *notesJob) Fetch(_ context.Context, ids []string, _ engine.Budget) ([]engine.Item, []string, bool, error) {
	j.n.mu.Lock()
	defer j.n.mu.Unlock()
	var out []engine.Item
	var skipped []string
	for _, id := range ids {
		name, ok := strings.CutPrefix(id, j.prefix)
		ver, have := j.n.items[name]
		if !ok || !have {
			skipped = append(skipped, id)
			continue
		}
		data := wbxml.New(wbxml.AirSync, "ApplicationData")
		data.AddText(wbxml.Notes, "Subject", name)
		data.AddText(wbxml.Notes, "MessageClass", "IPM.StickyNote")
		out = append(out, engine.Item{ServerID: id, Version: ver, Data: data})
	}
	return out, skipped, false, nil
}
