package dav

import (
	"errors"
	"slices"
	"testing"
)

func TestCollectionsMakeRenameDelete(t *testing.T) {
	c, _, home := radicale(t)
	ctx := ctxT(t)
	calHref := newCalendar(t, c, home, "work")
	if err := c.MakeCalendar(ctx, home+"tasks/", "Tasks", []string{"VTODO"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.MakeAddressBook(ctx, home+"contacts/", "Contacts"); err != nil {
		t.Fatal(err)
	}
	cals, err := c.Calendars(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	if len(cals) != 2 {
		t.Fatalf("calendars = %+v, want work and tasks", cals)
	}
	for _, cal := range cals {
		switch cal.Href {
		case calHref:
			if cal.DisplayName != "work" || !slices.Equal(cal.Components, []string{"VEVENT", "VTODO"}) || cal.Color != "#FF8800FF" {
				t.Errorf("work = %+v", cal)
			}
		case home + "tasks/":
			if cal.DisplayName != "Tasks" || !cal.Supports("VTODO") || cal.Supports("VEVENT") {
				t.Errorf("tasks = %+v", cal)
			}
		default:
			t.Errorf("unexpected calendar %+v", cal)
		}
		if cal.ReadOnly || cal.SyncToken == "" || cal.CTag == "" || !cal.SyncCollection || cal.Kind != KindCalendar {
			t.Errorf("%s: read-only %v, token %q, ctag %q, sync-collection %v", cal.Href, cal.ReadOnly, cal.SyncToken, cal.CTag, cal.SyncCollection)
		}
	}
	books, err := c.AddressBooks(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	if len(books) != 1 || books[0].Href != home+"contacts/" || books[0].DisplayName != "Contacts" || books[0].Kind != KindAddressBook || books[0].SyncToken == "" {
		t.Fatalf("address books = %+v", books)
	}

	if err := c.SetDisplayName(ctx, calHref, "Work (renamed)"); err != nil {
		t.Fatal(err)
	}
	col, err := c.Collection(ctx, calHref)
	if err != nil {
		t.Fatal(err)
	}
	if col.DisplayName != "Work (renamed)" {
		t.Fatalf("after PROPPATCH: %+v", col)
	}

	// MKCALENDAR where a collection exists fails, typed.
	if err := c.MakeCalendar(ctx, calHref, "again", nil, ""); err == nil {
		t.Fatal("MKCALENDAR over an existing calendar succeeded")
	} else {
		var se *StatusError
		if !errors.As(err, &se) {
			t.Fatalf("not a StatusError: %v", err)
		}
		t.Logf("MKCALENDAR over existing: %v", err)
	}

	if _, err := c.Create(ctx, calHref+"a.ics", ContentCalendar, event("del-a", "A")); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteCollection(ctx, calHref); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collection(ctx, calHref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted calendar: %v, want ErrNotFound", err)
	}
	if err := c.DeleteCollection(ctx, home+"contacts/"); err != nil {
		t.Fatal(err)
	}
	books, err = c.AddressBooks(ctx, home)
	if err != nil || len(books) != 0 {
		t.Fatalf("after delete: %+v, %v", books, err)
	}
}
