package imap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// runIdle is the MailboxWatch without NOTIFY: IDLE on the primary
// mailbox, left every PollInterval to STATUS the others and every
// HierarchyInterval to LIST, all on the one connection. A server without
// IDLE gets a NOOP (which brings the primary's news) at the same times.
func (w *MailboxWatch) runIdle(ctx context.Context, c *watchConn) error {
	ch := newChanges(false)
	var (
		selected string                           // wire name EXAMINEd, "" if none
		ready    bool                             // OnReady was called
		last     = map[string]map[string]uint64{} // STATUS items by wire name
		listing  bool
		lines    []string
		print    string
		listed   bool
	)
	c.untagged = func(r response) {
		switch {
		case r.kind == "STATUS" && r.status != nil:
			prev, seen := last[r.status.Mailbox]
			if !seen || !maps.Equal(prev, r.status.Items) {
				last[r.status.Mailbox] = r.status.Items
				if ready {
					ch.mailboxes[r.status.Mailbox] = true
					delete(ch.items, r.status.Mailbox) // a poll's STATUS is whole
					ch.mergeStatus(r.status)
				}
			}
		case r.kind == "LIST":
			if listing {
				lines = append(lines, r.raw)
			}
		default:
			w.note(ch, r, selected)
		}
	}
	atts := "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"
	if c.has("CONDSTORE") {
		atts = "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)"
	}
	list := `LIST "" "*"`
	if c.has("SPECIAL-USE") && c.has("LIST-EXTENDED") {
		list += " RETURN (SPECIAL-USE)"
	}
	mode := WatchModeIdle
	if !c.has("IDLE") {
		mode = WatchModePoll
	}
	watched, gen := w.watched()
	now := time.Now()
	nextPoll, nextList := now, now
	for {
		if ctx.Err() != nil {
			return nil
		}
		// The primary: EXAMINE it when the set's first mailbox changed.
		primary := ""
		if len(watched) > 0 {
			primary = encodeMUTF7(watched[0])
		}
		if primary != selected && primary != "" {
			selected = ""
			err := c.command(ctx, "examine", "EXAMINE ", astringArg(primary))
			if err != nil && !isServerError(err) {
				return err
			}
			if err == nil {
				selected = primary
				if ready {
					w.tell(nil, watched[0], selected) // newly covered: re-check once
				}
			}
			clear(ch.mailboxes) // the EXAMINE answer is the state we start from
		}
		// STATUS of the others, LIST of all, when due.
		if now = time.Now(); !now.Before(nextPoll) {
			for _, name := range watched {
				wire := encodeMUTF7(name)
				if wire == selected {
					continue
				}
				if err := c.command(ctx, "status", "STATUS ", astringArg(wire), " "+atts); err != nil && !isServerError(err) {
					return err
				}
			}
			nextPoll = now.Add(w.opts.PollInterval)
		}
		if w.opts.HierarchyInterval > 0 && !now.Before(nextList) {
			listing, lines = true, lines[:0]
			err := c.command(ctx, "list", list)
			listing = false
			if err != nil && !isServerError(err) {
				return err
			}
			if err == nil {
				slices.Sort(lines)
				if p := strings.Join(lines, "\n"); !listed || p != print {
					ch.hierarchy = ch.hierarchy || (listed && ready)
					print, listed = p, true
				}
			}
			nextList = now.Add(w.opts.HierarchyInterval)
		}
		if !ready {
			ready = true
			clear(ch.mailboxes)
			ch.hierarchy = false
			if w.opts.OnReady != nil {
				w.opts.OnReady(mode)
			}
		}
		w.announce(ch, watched)

		deadline := time.Now().Add(w.opts.IdleRestart)
		deadline = earliest(deadline, nextPoll)
		if w.opts.HierarchyInterval > 0 {
			deadline = earliest(deadline, nextList)
		}
		each := func(response) {
			if !c.rd.buffered() {
				w.announce(ch, watched)
			}
		}
		var err error
		if mode == WatchModeIdle && selected != "" {
			err = w.idleUntil(ctx, c, deadline, each)
		} else {
			err = c.wait(ctx, deadline, each)
			if err == nil && selected != "" {
				err = c.command(ctx, "noop", "NOOP")
			}
		}
		switch {
		case errors.Is(err, errWoken):
			if ctx.Err() != nil {
				return nil
			}
			if now, g := w.watchedSince(gen); now != nil {
				gen = g
				for _, m := range now {
					if !slices.Contains(watched, m) {
						nextPoll = time.Now() // STATUS the new ones at once
						break
					}
				}
				watched = now
			}
		case err != nil:
			return err
		}
		w.announce(ch, watched)
	}
}

// idleUntil holds IDLE until deadline or a wake, then leaves it. each is
// called for responses read while idling.
func (w *MailboxWatch) idleUntil(ctx context.Context, c *watchConn, deadline time.Time, each func(response)) error {
	cmdDeadline := time.Now().Add(c.cfg.commandTimeout())
	c.tag++
	tag := fmt.Sprintf("w%d", c.tag)
	if err := c.write([]byte(tag+" IDLE\r\n"), cmdDeadline); err != nil {
		return err
	}
	if err := c.awaitContinuation(ctx, "idle", tag, cmdDeadline); err != nil {
		return err
	}
	waitErr := c.wait(ctx, deadline, each)
	if waitErr != nil && !errors.Is(waitErr, errWoken) {
		return waitErr
	}
	// Leave IDLE; when ctx ended, briefly (Close follows anyway).
	doneCtx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		doneCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
	}
	cmdDeadline = time.Now().Add(c.cfg.commandTimeout())
	if d, ok := doneCtx.Deadline(); ok && d.Before(cmdDeadline) {
		cmdDeadline = d
	}
	if err := c.write([]byte("DONE\r\n"), cmdDeadline); err != nil {
		return err
	}
	if err := c.awaitTagged(doneCtx, "idle", tag, cmdDeadline); err != nil {
		return err
	}
	return waitErr
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
