package davsync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/items"
	"github.com/idlebridge/idlebridge/activesync/wbxml"
	"github.com/idlebridge/idlebridge/bridge/accounts"
	"github.com/idlebridge/idlebridge/bridge/cardconv"
	"github.com/idlebridge/idlebridge/bridge/engine"
	"github.com/idlebridge/idlebridge/upstream/dav"
)

// ContactsClass is the engine.Class of CardDAV: each address book of the
// user's carddav URL is a contacts folder (the default one type 9, the
// others 14), on the same DAV core as calendars. Cards are converted by
// bridge/cardconv: a device's Change is merged into the stored card, never
// regenerated; a device's Add becomes a new vCard in the book's version.
func ContactsClass(opts Options) engine.Class {
	opts = opts.withDefaults()
	c := newCore(opts, serviceCardDAV, contacts{zone: opts.UserZone})
	return engine.Class{
		Kinds:     []engine.Kind{engine.KindContacts},
		Source:    source{c},
		Hierarchy: addressBookHierarchy{c},
		Watcher:   watcher{c},
	}
}

// contacts is the Contacts class: the vCards of an address book.
type contacts struct{ zone *time.Location }

func (contacts) Kind() engine.Kind    { return engine.KindContacts }
func (contacts) Collection() dav.Kind { return dav.KindAddressBook }
func (contacts) Component() string    { return "" }
func (contacts) ContentType() string  { return dav.ContentVCard }
func (contacts) Ext() string          { return ".vcf" }

// Window: contacts have no FilterType (MS-ASCMD 2.2.3.70.1): all of them.
func (contacts) Window(context.Context, *dav.Client, string, int, time.Time) (func(string) bool, error) {
	return nil, nil
}

func (ct contacts) options(call *engine.Call) (cardconv.Options, items.Version) {
	v := items.Version(call.Options.Version)
	if v == 0 {
		v = items.V141
	}
	return cardconv.Options{Family: cardconv.ClientFamily(call.DeviceType, call.UserAgent), Zone: ct.zone}, v
}

func (ct contacts) Encode(data []byte, call *engine.Call) (*wbxml.Element, error) {
	opt, v := ct.options(call)
	c, err := cardconv.ToContact(data, opt)
	if err != nil {
		return nil, err
	}
	return c.Encode(v), nil
}

// VersionOf, Versions and PatchNew make contacts versioned: a device's
// Add takes the vCard version of the book's cards (3.0 when the book says
// nothing and holds none: every CardDAV server takes it, RFC 6352 5.1).
func (contacts) VersionOf(data []byte) string { return cardconv.Version(data) }
func (contacts) Versions() []string           { return []string{"3.0", "4.0"} }

func (ct contacts) PatchNew(app *wbxml.Element, call *engine.Call, version string) (*Patched, error) {
	opt, v := ct.options(call)
	dev, err := items.DecodeContact(app, v)
	if err != nil {
		return nil, err
	}
	// MS-ASCNTC has no UID: a random one, and the core finds a resent
	// Add by its ClientId.
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	uid := hex.EncodeToString(rnd[:])
	card, err := cardconv.NewCard(dev, version, uid, opt)
	if err != nil {
		return nil, err
	}
	return &Patched{Data: card, UID: uid, Changed: true}, nil
}

func (ct contacts) Patch(stored []byte, app *wbxml.Element, call *engine.Call, _ time.Time) (*Patched, error) {
	if stored == nil {
		return ct.PatchNew(app, call, ct.Versions()[0])
	}
	opt, v := ct.options(call)
	dev, err := items.DecodeContact(app, v)
	if err != nil {
		return nil, err
	}
	out, err := cardconv.Merge(stored, dev, contactGhosting(call, v), opt)
	if err != nil {
		return nil, err
	}
	return &Patched{Data: out, Changed: !bytes.Equal(out, stored)}, nil
}

// addressBookHierarchy lists a user's address books as contacts folders
// and creates, renames and deletes them (engine.FolderEditor).
type addressBookHierarchy struct{ c *core }

func (addressBookHierarchy) Kinds() []engine.Kind { return []engine.Kind{engine.KindContacts} }

// Serves implements engine.Served: users with a CardDAV server.
func (addressBookHierarchy) Serves(p *accounts.Principal) bool {
	return p != nil && p.User != nil && p.User.CardDAV != ""
}

func (h addressBookHierarchy) Folders(ctx context.Context, p *accounts.Principal, c engine.Client) ([]engine.Folder, error) {
	if p == nil || p.User == nil || p.User.CardDAV == "" {
		return nil, nil
	}
	h.c.touch(p.User.Address)
	books, err := h.books(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(books) == 0 {
		return nil, nil
	}
	// Every book and the merged folder, each hidden from the devices that
	// see the other shape (merged.go), so the folder map keeps both.
	merged := mergeBooks(p, c)
	def := defaultBook(books)
	var out []engine.Folder
	for i, b := range books {
		t := activesync.FolderUserContacts
		if i == def {
			t = activesync.FolderContacts
		}
		out = append(out, engine.Folder{Ref: engine.Ref{Kind: engine.KindContacts, Path: b.Href}, DisplayName: folderName(b), Type: t, Hidden: merged})
	}
	out = append(out, engine.Folder{Ref: mergedRef(), DisplayName: folderName(books[def]), Type: activesync.FolderContacts, Hidden: !merged})
	return out, nil
}

func (h addressBookHierarchy) books(ctx context.Context, p *accounts.Principal) ([]dav.Collection, error) {
	ce, err := h.c.clients.get(p, serviceCardDAV)
	if err != nil {
		return nil, err
	}
	d, err := ce.discovery(ctx)
	if err != nil {
		return nil, err
	}
	if d.AddressBookHome == "" {
		return nil, nil
	}
	cols, err := ce.client.AddressBooks(ctx, d.AddressBookHome)
	if err != nil {
		return nil, upstreamErr(err)
	}
	sort.Slice(cols, func(i, k int) bool { return cols[i].Href < cols[k].Href })
	return cols, nil
}

// defaultBook: the book servers and clients name as the user's own
// (Nextcloud "contacts", SOGo "personal", Radicale clients "default"...),
// else the first.
func defaultBook(cols []dav.Collection) int {
	if len(cols) == 0 {
		return -1
	}
	for _, want := range []string{"contacts", "default", "personal", "addressbook", "card"} {
		for i, col := range cols {
			if strings.EqualFold(lastSegment(col.Href), want) {
				return i
			}
		}
	}
	return 0
}

func lastSegment(href string) string {
	href = strings.TrimSuffix(href, "/")
	return href[strings.LastIndex(href, "/")+1:]
}

// CreateFolder makes an address book (type 14) with extended MKCOL in
// the user's address book home.
func (h addressBookHierarchy) CreateFolder(ctx context.Context, p *accounts.Principal, _ engine.Ref, name string, folderType int) (engine.Ref, error) {
	if folderType != activesync.FolderUserContacts {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "only contact folders can be created on CardDAV")
	}
	if strings.TrimSpace(name) == "" {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "empty folder name")
	}
	books, err := h.books(ctx, p)
	if err != nil {
		return engine.Ref{}, err
	}
	for _, b := range books {
		if strings.EqualFold(folderName(b), name) {
			return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusExists, "a folder of that name exists")
		}
	}
	ce, err := h.c.clients.get(p, serviceCardDAV)
	if err != nil {
		return engine.Ref{}, err
	}
	d, err := ce.discovery(ctx)
	if err != nil {
		return engine.Ref{}, err
	}
	if d.AddressBookHome == "" {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusServerError, "the server has no address book home")
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	href := strings.TrimSuffix(d.AddressBookHome, "/") + "/" + hex.EncodeToString(rnd[:]) + "/"
	if err := ce.client.MakeAddressBook(ctx, href, name); err != nil {
		return engine.Ref{}, folderErr(err)
	}
	return engine.Ref{Kind: engine.KindContacts, Path: href}, nil
}

// RenameFolder sets the address book's display name (PROPPATCH). The
// merged folder carries the default book's name, so renaming it renames
// that book.
func (h addressBookHierarchy) RenameFolder(ctx context.Context, p *accounts.Principal, ref engine.Ref, name string) (engine.Ref, error) {
	if strings.TrimSpace(name) == "" {
		return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusBadRequest, "empty folder name")
	}
	ce, err := h.c.clients.get(p, serviceCardDAV)
	if err != nil {
		return engine.Ref{}, err
	}
	href := ref.Path
	if isMerged(ref) {
		books, err := h.books(ctx, p)
		if err != nil {
			return engine.Ref{}, err
		}
		def := defaultBook(books)
		if def < 0 {
			return engine.Ref{}, activesync.CommandStatus(activesync.FolderStatusNotFound, "no address book")
		}
		href = books[def].Href
	}
	if err := ce.client.SetDisplayName(ctx, href, name); err != nil {
		return engine.Ref{}, folderErr(err)
	}
	return ref, nil
}

// DeleteFolder deletes an address book; the default one is special
// (MS-ASCMD 2.2.3.162.3 Status 3).
func (h addressBookHierarchy) DeleteFolder(ctx context.Context, p *accounts.Principal, ref engine.Ref) error {
	folders, err := h.Folders(ctx, p, engine.Client{})
	if err != nil {
		return err
	}
	found := false
	for _, f := range folders {
		if f.Ref.Path == ref.Path {
			if f.Type == activesync.FolderContacts {
				return activesync.CommandStatus(activesync.FolderStatusSpecial, "the default contacts folder cannot be deleted")
			}
			found = true
		}
	}
	if !found {
		return activesync.CommandStatus(activesync.FolderStatusNotFound, "no such address book")
	}
	ce, err := h.c.clients.get(p, serviceCardDAV)
	if err != nil {
		return err
	}
	if err := ce.client.DeleteCollection(ctx, ref.Path); err != nil && !errors.Is(err, dav.ErrNotFound) {
		return folderErr(err)
	}
	return nil
}

// contactGhosting is cardconv's Ghosting from the device's Supported list
// (kept by the engine from the folder's initial Sync): at 12.x-14.x what
// the list names and a Change leaves out is cleared, what it does not name
// is kept; no list, nothing is kept (MS-ASCMD 2.2.3.179).
func contactGhosting(call *engine.Call, v items.Version) cardconv.Ghosting {
	g := cardconv.Ghosting{Version: v}
	names, ok := call.Supported()
	if !ok {
		return g
	}
	g.Supported = make([]items.ContactField, 0, len(names))
	for _, n := range names {
		g.Supported = append(g.Supported, items.ContactFieldByName(n))
	}
	return g
}
