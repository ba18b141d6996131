package activesync_test

import (
	"context"
	"maps"
	"sync"

	"github.com/idlebridge/idlebridge/activesync"
)

// fakeBackend is an in-memory Backend for the front's unit tests. The
// bridge's tests run the same front against the real store engines.
type fakeBackend struct {
	mu      sync.Mutex
	users   map[string]string // address → password
	devices map[string]*activesync.Device
	down    bool // Login answers ErrUnavailable
	panicOn string
}

type fakeAccount string

func (a fakeAccount) Address() string     { return string(a) }
func (a fakeAccount) DisplayName() string { return "Test User" }

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		users:   map[string]string{"alice@example.com": "secret"},
		devices: map[string]*activesync.Device{},
	}
}

func (b *fakeBackend) Login(ctx context.Context, user, pass string) (activesync.Account, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return nil, activesync.ErrUnavailable
	}
	if p, ok := b.users[user]; !ok || p != pass {
		return nil, activesync.ErrBadCredentials
	}
	return fakeAccount(user), nil
}

func (b *fakeBackend) UpdateDevice(ctx context.Context, acct activesync.Account, id string, fn func(*activesync.Device) error) (*activesync.Device, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.panicOn == id {
		panic("fake backend asked to panic")
	}
	key := acct.Address() + "/" + id
	d := &activesync.Device{ID: id}
	if old := b.devices[key]; old != nil {
		cp := *old
		cp.Info = maps.Clone(old.Info)
		cp.Meta = maps.Clone(old.Meta)
		d = &cp
	}
	if err := fn(d); err != nil {
		return nil, err
	}
	b.devices[key] = d
	cp := *d
	return &cp, nil
}

func (b *fakeBackend) device(user, id string) *activesync.Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.devices[user+"/"+id]
	if d == nil {
		return nil
	}
	cp := *d
	return &cp
}

func (b *fakeBackend) setWipe(user, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.devices[user+"/"+id].Wipe = activesync.WipeRequested
}
