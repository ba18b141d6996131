package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idlebridge/idlebridge/upstream/dav"
)

// checkDAV runs the discovery the bridge will use (upstream/dav): the
// well-known redirect, current-user-principal and the home set, then
// lists the calendars or address books found there, so an operator sees
// what a device will get as folders.
func (c *userCheck) checkDAV(ctx context.Context, part, rawURL string) {
	if rawURL == "" {
		c.skip(part, "not configured for this user")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	client, err := dav.New(dav.Config{
		URL: rawURL, Username: c.u.Login.UpstreamUser, Password: c.password,
		TLSConfig: c.tls, Timeout: c.timeout,
		// The users directory already refused http to a remote host
		// unless the file says allow_insecure.
		AllowCleartext: true,
	})
	if err != nil {
		c.fail(part, fmt.Sprintf("%s: %v", redactedURL(rawURL), err))
		return
	}
	d, err := client.Discover(ctx)
	if err != nil {
		c.fail(part, davProblem(rawURL, err))
		return
	}
	where := fmt.Sprintf("%s, principal %s", redactedURL(rawURL), d.Principal)
	if part == "CalDAV" {
		c.reportCollections(ctx, part, where, "calendar", d.CalendarHome, client.Calendars)
	} else {
		c.reportCollections(ctx, part, where, "address book", d.AddressBookHome, client.AddressBooks)
	}
}

func (c *userCheck) reportCollections(ctx context.Context, part, where, noun, home string,
	list func(context.Context, string) ([]dav.Collection, error)) {
	if home == "" {
		c.fail(part, fmt.Sprintf("%s: the principal names no %s home set", where, noun))
		return
	}
	cols, err := list(ctx, home)
	if err != nil {
		c.fail(part, fmt.Sprintf("%s, home %s: %v", where, home, err))
		return
	}
	names := make([]string, 0, len(cols))
	for _, col := range cols {
		n := fmt.Sprintf("%q", col.DisplayName)
		var notes []string
		if col.Components != nil {
			notes = append(notes, strings.Join(col.Components, "+"))
		}
		if col.ReadOnly {
			notes = append(notes, "read-only")
		}
		if col.SyncToken == "" && col.CTag == "" {
			notes = append(notes, "no sync-token or ctag: polled by listing")
		}
		if len(notes) > 0 {
			n += " (" + strings.Join(notes, ", ") + ")"
		}
		names = append(names, n)
	}
	plural := noun + "s"
	if len(cols) == 1 {
		plural = noun
	}
	detail := fmt.Sprintf("%s, home %s: %d %s", where, home, len(cols), plural)
	if len(names) > 0 {
		detail += ": " + strings.Join(names, ", ")
	}
	c.ok(part, detail)
}

// davProblem says in words what went wrong with a DAV server.
func davProblem(rawURL string, err error) string {
	u := redactedURL(rawURL)
	switch {
	case errors.Is(err, dav.ErrUnauthorized), errors.Is(err, dav.ErrForbidden):
		return fmt.Sprintf("login rejected by %s (%v)", u, err)
	case errors.Is(err, dav.ErrNotDAV):
		return fmt.Sprintf("%s: not a CalDAV/CardDAV URL? (%v)", u, err)
	}
	return fmt.Sprintf("%s: %v", u, err)
}
