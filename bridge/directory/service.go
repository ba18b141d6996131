package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// Options tune the directory; zero fields take the defaults.
type Options struct {
	// Fresh is how long a local copy is searched without asking the server
	// for changes; 0: 30 s.
	Fresh time.Duration
	// Idle is how long an unused local copy is kept; 0: 10 min.
	Idle time.Duration
	// MaxCards bounds a local copy; a larger book is searched by the
	// server only. 0: 50 000 (about 25 MB).
	MaxCards int
	// WarmTimeout bounds building a local copy behind a search; 0: 2 min.
	WarmTimeout time.Duration
	// BooksTTL is how long the list of a user's own address books is
	// reused; 0: 5 min.
	BooksTTL time.Duration
}

func (o Options) withDefaults() Options {
	if o.Fresh <= 0 {
		o.Fresh = 30 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = 10 * time.Minute
	}
	if o.MaxCards <= 0 {
		o.MaxCards = 50000
	}
	if o.WarmTimeout <= 0 {
		o.WarmTimeout = 2 * time.Minute
	}
	if o.BooksTTL <= 0 {
		o.BooksTTL = 5 * time.Minute
	}
	return o
}

// Service implements activesync.GALSearcher and
// activesync.RecipientResolver. It is safe for concurrent use; Close
// stops the local copies being built.
type Service struct {
	resolve Resolver
	opts    Options
	log     *slog.Logger

	ctx    context.Context // parent of background work; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	indexes map[string]*index   // by user + "\x00" + book href
	books   map[string]ownBooks // by user: the user's own address books
	warming map[string]bool     // index keys being built in the background
}

type ownBooks struct {
	hrefs []string
	at    time.Time
}

// New returns a Service; log may be nil.
func New(resolve Resolver, opts Options, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{resolve: resolve, opts: opts.withDefaults(), log: log, ctx: ctx, cancel: cancel,
		indexes: map[string]*index{}, books: map[string]ownBooks{}, warming: map[string]bool{}}
}

// Close stops background work and waits for it.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

var (
	_ activesync.GALSearcher       = (*Service)(nil)
	_ activesync.RecipientResolver = (*Service)(nil)
)

// user resolves the account, logging with the user's key.
func (s *Service) user(ctx context.Context, acct activesync.Account) (*User, error) {
	u, err := s.resolve(ctx, acct)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, errors.New("directory: no user for the account")
	}
	return u, nil
}

// galBooks are the books searched as the GAL: the configured one, else
// the user's own (which then count as contacts, Type 2).
func (s *Service) galBooks(ctx context.Context, u *User) ([]book, error) {
	if u.GAL.Configured() {
		return []book{{href: u.GAL.AddressBook, class: classGAL}}, nil
	}
	return s.contactBooks(ctx, u)
}

// contactBooks are the user's own address books, discovered and cached.
func (s *Service) contactBooks(ctx context.Context, u *User) ([]book, error) {
	if u.CardDAV == nil {
		return nil, nil
	}
	s.mu.Lock()
	ob, ok := s.books[u.Key]
	s.mu.Unlock()
	if !ok || time.Since(ob.at) > s.opts.BooksTTL {
		d, err := u.CardDAV.Discover(ctx)
		if err != nil {
			return nil, fmt.Errorf("directory: discover %s: %w", u.Key, err)
		}
		ob = ownBooks{at: time.Now()}
		if d.AddressBookHome != "" {
			cols, err := u.CardDAV.AddressBooks(ctx, d.AddressBookHome)
			if err != nil {
				return nil, fmt.Errorf("directory: address books of %s: %w", u.Key, err)
			}
			for _, c := range cols {
				ob.hrefs = append(ob.hrefs, c.Href)
			}
		}
		s.mu.Lock()
		s.books[u.Key] = ob
		s.mu.Unlock()
	}
	out := make([]book, 0, len(ob.hrefs))
	for _, h := range ob.hrefs {
		if u.GAL.Configured() && sameBook(h, u.GAL.AddressBook) {
			continue // the GAL shared into the user's home is not a contact book
		}
		out = append(out, book{href: h, class: classContacts})
	}
	return out, nil
}

func sameBook(a, b string) bool {
	trim := func(s string) string {
		for len(s) > 1 && s[len(s)-1] == '/' {
			s = s[:len(s)-1]
		}
		return s
	}
	return trim(a) == trim(b)
}

// indexFor returns the user's local copy of a book, creating it cold, and
// drops copies idle for longer than Options.Idle.
func (s *Service) indexFor(u *User, b book) *index {
	key := u.Key + "\x00" + b.href
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.indexes[key]
	if !ok {
		s.sweepLocked()
		x = newIndex(u.Key, b.href, b.class)
		x.used = time.Now()
		s.indexes[key] = x
	}
	return x
}

func (s *Service) sweepLocked() {
	for k, x := range s.indexes {
		if !x.mu.TryLock() {
			continue // in use
		}
		idle := time.Since(x.used) > s.opts.Idle
		x.mu.Unlock()
		if idle && !s.warming[k] {
			delete(s.indexes, k)
		}
	}
}

// warmBehind fills a cold copy in the background, once at a time per
// book, with the request's client (its credentials) and a bounded context.
func (s *Service) warmBehind(u *User, x *index) {
	key := u.Key + "\x00" + x.href
	s.mu.Lock()
	if s.warming[key] || s.ctx.Err() != nil {
		s.mu.Unlock()
		return
	}
	s.warming[key] = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.warming, key)
			s.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.WarmTimeout)
		defer cancel()
		start := time.Now()
		if err := x.refresh(ctx, u.CardDAV, s.opts.Fresh, s.opts.MaxCards, s.log); err != nil {
			if s.ctx.Err() != nil {
				return // shutting down
			}
			s.log.Warn("directory: local copy not built; searching by the server", "user", u.Key, "book", x.href, "error", err)
			return
		}
		s.log.Info("directory: local copy built", "user", u.Key, "book", x.href, "cards", x.size(), "took", time.Since(start).Round(time.Millisecond))
	}()
}

func (x *index) size() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.records)
}

// searchMode is the GAL's configured mode, auto for the user's own books.
func searchMode(u *User) string {
	if u.GAL.Configured() && u.GAL.Search != "" {
		return u.GAL.Search
	}
	return accounts.GALSearchAuto
}
