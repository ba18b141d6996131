package dav

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestMultiGetToleratesDeletedHref(t *testing.T) {
	c, w, home := radicale(t)
	ctx := ctxT(t)
	c.cfg.Batch = 3 // 7 hrefs: three batches
	cal := newCalendar(t, c, home, "cal")
	var hrefs []string
	etags := map[string]string{}
	for i := range 6 {
		h := fmt.Sprintf("%se%d.ics", cal, i)
		etag, err := c.Create(ctx, h, ContentCalendar, event(fmt.Sprintf("mg-%d", i), fmt.Sprintf("E%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		hrefs = append(hrefs, h)
		etags[h] = etag
	}
	gone := hrefs[2]
	if err := c.Delete(ctx, gone, etags[gone]); err != nil {
		t.Fatal(err)
	}
	never := cal + "never-existed.ics"
	hrefs = append(hrefs, never)

	w.reset()
	objs, failed, err := c.MultiGet(ctx, cal, KindCalendar, hrefs)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.requests.Load(); n != 3 {
		t.Errorf("%d requests for 7 hrefs in batches of 3, want 3", n)
	}
	if len(objs) != 5 {
		t.Fatalf("got %d objects, want 5: %+v", len(objs), objs)
	}
	for _, o := range objs {
		if o.ETag != etags[o.Href] || !strings.Contains(string(o.Data), "BEGIN:VEVENT") {
			t.Errorf("%s: etag %q want %q, data %q", o.Href, o.ETag, etags[o.Href], o.Data)
		}
	}
	if len(failed) != 2 || !errors.Is(failed[gone], ErrNotFound) || !errors.Is(failed[never], ErrNotFound) {
		t.Fatalf("failed = %v, want %s and %s as ErrNotFound", failed, gone, never)
	}
}

func TestMultiGetCards(t *testing.T) {
	c, _, home := radicale(t)
	ctx := ctxT(t)
	book := home + "book/"
	if err := c.MakeAddressBook(ctx, book, "Book"); err != nil {
		t.Fatal(err)
	}
	etag, err := c.Create(ctx, book+"a.vcf", ContentVCard, card("card-a", "Alice"))
	if err != nil {
		t.Fatal(err)
	}
	objs, failed, err := c.MultiGet(ctx, book, KindAddressBook, []string{book + "a.vcf", book + "gone.vcf"})
	if err != nil || len(objs) != 1 || objs[0].ETag != etag || !strings.Contains(string(objs[0].Data), "FN:Alice") {
		t.Fatalf("multiget card: %+v %v", objs, err)
	}
	if !errors.Is(failed[book+"gone.vcf"], ErrNotFound) || len(failed) != 1 {
		t.Fatalf("failed = %v", failed)
	}
}
