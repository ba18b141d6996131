package accounts

import "fmt"

// Merge modes of contacts.merge_books: whether a device sees the user's
// address books as one contacts folder.
const (
	// MergeBooksAuto (the default): merged for the client families that
	// show only one contacts folder (Samsung's native app, Outlook
	// desktop, older Gmail apps: bridge/davsync's OneContactFolder),
	// separate books for every other device.
	MergeBooksAuto = "auto"
	// MergeBooksAlways: every device of the user sees one folder.
	MergeBooksAlways = "always"
	// MergeBooksNever: every device sees each book as its own folder
	// (a phone that does show several, misjudged by its DeviceType).
	MergeBooksNever = "never"
)

// Contacts are the user's settings for address books.
type Contacts struct {
	MergeBooks string // MergeBooksAuto, MergeBooksAlways or MergeBooksNever; never ""
}

type contactsFile struct {
	MergeBooks string `yaml:"merge_books"`
}

// checkContacts validates a contacts: section; absent is auto.
func checkContacts(field string, f *contactsFile) (Contacts, *FileError) {
	c := Contacts{MergeBooks: MergeBooksAuto}
	if f == nil {
		return c, nil
	}
	switch f.MergeBooks {
	case "":
	case MergeBooksAuto, MergeBooksAlways, MergeBooksNever:
		c.MergeBooks = f.MergeBooks
	default:
		return Contacts{}, &FileError{Field: field + ".merge_books", Msg: fmt.Sprintf("%q: must be auto, always or never", f.MergeBooks)}
	}
	return c, nil
}
