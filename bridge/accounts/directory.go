package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Directory is the users directory held in memory: every valid user file,
// and the files that failed to load. A bad file never stops the others from
// serving. It is safe for concurrent use.
type Directory struct {
	dir       string
	log       *slog.Logger
	lookupEnv func(string) (string, bool)

	mu       sync.RWMutex
	users    map[string]*User   // by lower-cased address
	domains  map[string]*Domain // by lower-cased domain, from @<domain>.yaml
	problems []FileError        // sorted by file

	// scanMu serialises rescans; the fields below belong to the scan.
	scanMu  sync.Mutex
	files   map[string]fileState // by file name, for change detection
	ignored map[string]bool      // *.yaml names already reported as not user files
}

// fileState is what the last scan made of one file; a file whose content hash
// is unchanged is not parsed (nor logged) again.
type fileState struct {
	sum    [sha256.Size]byte
	user   *User
	domain *Domain // a domain defaults file (user is nil)
	err    *FileError
}

// OpenDirectory loads every user file in dir. Invalid files are logged with
// file and field and listed by Problems; the valid ones are served.
func OpenDirectory(ctx context.Context, dir string, log *slog.Logger) (*Directory, error) {
	return openDirectory(ctx, dir, log, os.LookupEnv)
}

func openDirectory(ctx context.Context, dir string, log *slog.Logger, lookupEnv func(string) (string, bool)) (*Directory, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("users directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("users directory %s: not a directory", dir)
	}
	d := &Directory{
		dir:       dir,
		log:       log.With("users_dir", dir),
		lookupEnv: lookupEnv,
		users:     map[string]*User{},
		files:     map[string]fileState{},
		ignored:   map[string]bool{},
	}
	if err := d.rescan(ctx); err != nil {
		return nil, err
	}
	n := len(d.Users())
	if n == 0 {
		d.log.Info("0 users loaded; write <address>.yaml files there, see the *.example.yaml files in deploy/users", "problems", len(d.Problems()))
	} else {
		d.log.Info("users loaded", "users", n, "problems", len(d.Problems()))
	}
	return d, nil
}

// Dir is the directory the users are read from.
func (d *Directory) Dir() string { return d.dir }

// Lookup finds a user by address, ignoring case.
func (d *Directory) Lookup(address string) (*User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.users[strings.ToLower(address)]
	return u, ok
}

// Domain returns the defaults of a mail domain (its @<domain>.yaml file).
func (d *Directory) Domain(domain string) (*Domain, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	dom, ok := d.domains[strings.ToLower(domain)]
	return dom, ok
}

// Users returns every valid user, sorted by address.
func (d *Directory) Users() []*User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*User, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// Problems returns the files that currently fail to load, sorted by file.
func (d *Directory) Problems() []FileError {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.problems)
}

// rescan reads the directory again and swaps in the result. Files whose
// content did not change keep their previous outcome without being logged.
func (d *Directory) rescan(ctx context.Context) error {
	d.scanMu.Lock()
	defer d.scanMu.Unlock()

	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("users directory: %w", err)
	}
	next := make(map[string]fileState, len(d.files))
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := e.Name()
		address, ok := AddressFromFileName(name)
		domain, isDomain := DomainFromFileName(name)
		if !ok && !isDomain {
			d.noteIgnored(name)
			continue
		}
		path := filepath.Join(d.dir, name)
		data, err := readBounded(path)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errIsDir) {
			continue // removed between ReadDir and open, or a directory named like a user
		}
		if err != nil {
			msg := err.Error()
			if pe := (*os.PathError)(nil); errors.As(err, &pe) {
				msg = pe.Err.Error() // the path is already in File
			}
			fe := &FileError{File: path, Msg: "cannot read: " + msg}
			next[name] = fileState{err: fe}
			continue
		}
		sum := sha256.Sum256(data)
		if prev, ok := d.files[name]; ok && prev.sum == sum && prev.err == nil {
			next[name] = prev
			continue
		}
		st := fileState{sum: sum}
		if isDomain {
			if dom, err := ParseDomainFile(path, domain, data); err != nil {
				fe := err.(FileError) // ParseDomainFile returns only FileError
				st.err = &fe
			} else {
				st.domain = dom
			}
		} else if u, err := ParseUserFile(path, address, data, d.lookupEnv); err != nil {
			fe := err.(FileError) // ParseUserFile returns only FileError
			st.err = &fe
		} else {
			st.user = u
		}
		next[name] = st
	}

	users, domains, problems := d.assemble(next)
	d.logChanges(next, users)
	d.files = next
	d.mu.Lock()
	d.users, d.domains, d.problems = users, domains, problems
	d.mu.Unlock()
	return nil
}

// assemble builds the lookup table from the scanned files. Two files whose
// names differ only in case name the same user: the first in name order wins
// and the other becomes a problem, so the outcome does not depend on ReadDir.
func (d *Directory) assemble(files map[string]fileState) (map[string]*User, map[string]*Domain, []FileError) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	users := make(map[string]*User, len(files))
	domains := map[string]*Domain{}
	var problems []FileError
	for _, n := range names {
		st := files[n]
		switch {
		case st.err != nil:
			problems = append(problems, *st.err)
		case st.domain != nil && domains[st.domain.Name] != nil:
			problems = append(problems, FileError{File: st.domain.File, Msg: "same domain as " + domains[st.domain.Name].File + ", which is used"})
		case st.domain != nil:
			domains[st.domain.Name] = st.domain
		case users[st.user.Address] != nil:
			problems = append(problems, FileError{File: st.user.File, Msg: "same address as " + users[st.user.Address].File + ", which is used"})
		default:
			users[st.user.Address] = st.user
		}
	}
	return users, domains, problems
}

func (d *Directory) logChanges(next map[string]fileState, users map[string]*User) {
	for name, st := range next {
		prev, had := d.files[name]
		if had && prev.sum == st.sum && (prev.err == nil) == (st.err == nil) {
			continue
		}
		switch {
		case st.err != nil:
			d.log.Warn("user file skipped", "file", st.err.File, "field", st.err.Field, "error", st.err.Msg)
		case st.domain != nil:
			d.log.Info("domain defaults loaded", "domain", st.domain.Name, "file", st.domain.File)
		case had:
			d.log.Info("user reloaded", "user", st.user.Address, "file", st.user.File)
		default:
			d.log.Info("user added", "user", st.user.Address, "file", st.user.File)
		}
	}
	for name, prev := range d.files {
		if _, ok := next[name]; ok {
			continue
		}
		if prev.user != nil && users[prev.user.Address] == nil {
			d.log.Info("user removed", "user", prev.user.Address, "file", prev.user.File)
		}
	}
}

// noteIgnored warns once about a *.yaml file that is not a user file, the
// likely result of a misnamed file ("alice.yaml" instead of
// "alice@example.com.yaml").
func (d *Directory) noteIgnored(name string) {
	if !strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".example.yaml") || strings.HasPrefix(name, ".") || d.ignored[name] {
		return
	}
	d.ignored[name] = true
	d.log.Warn("ignoring file: not named <address>.yaml", "file", filepath.Join(d.dir, name))
}

var errIsDir = errors.New("is a directory")

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errIsDir
	}
	// One byte more than allowed, so the parser sees the file is too large.
	return io.ReadAll(io.LimitReader(f, maxUserFileBytes+1))
}
