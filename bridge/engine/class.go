package engine

// Class is an item class plugged into the bridge beside mail: the source
// that serves its collections, the hierarchy that lists them, and the
// watcher that notices upstream changes. The bridge routes every command
// by the kind of the collection it names.
type Class struct {
	Kinds     []Kind
	Source    Source
	Hierarchy Hierarchy // may also implement FolderEditor
	Watcher   Watcher   // nil: Ping re-checks run only on other wake-ups
}
