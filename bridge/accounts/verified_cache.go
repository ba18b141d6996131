package accounts

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// maxVerifiedPerUser bounds the remembered passwords of one user: a user may
// run several devices, each with its own provider app password.
const maxVerifiedPerUser = 4

// maxRejectedPerUser bounds the remembered wrong passwords of one user:
// enough for a stale phone or two and a guesser's recent tries; a guesser
// cycling through more only pushes out his own oldest ones.
const maxRejectedPerUser = 32

// verifiedCache remembers, in memory only, that a password was verified for
// a user (or, as the negative cache, that the provider refused it). It holds no plaintext: each entry is HMAC-SHA256 under a key drawn
// at start-up (so entries are useless outside this process) over a random
// per-entry salt, the user's login binding and the password. Entries are
// compared in constant time and expire after ttl.
type verifiedCache struct {
	ttl     time.Duration
	perUser int
	now     func() time.Time
	key     [32]byte

	mu      sync.Mutex
	entries map[string][]verifiedEntry // by address; the set of users is bounded by the directory
}

type verifiedEntry struct {
	salt    [16]byte
	mac     [sha256.Size]byte
	expires time.Time
}

func newVerifiedCache(ttl time.Duration, perUser int, now func() time.Time) *verifiedCache {
	c := &verifiedCache{ttl: ttl, perUser: perUser, now: now, entries: map[string][]verifiedEntry{}}
	rand.Read(c.key[:]) // crypto/rand.Read never fails (Go 1.24+)
	return c
}

// mac binds the password to everything that decided its verification: the
// upstream login and server (passthrough) or the device hash (app-password).
// An edited user file therefore invalidates what was remembered for it.
func (c *verifiedCache) mac(salt []byte, u *User, password string) [sha256.Size]byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write(salt)
	for _, part := range []string{u.Address, u.Login.Mode, u.Login.UpstreamUser, u.IMAP.Addr(), string(u.IMAP.Security), u.Login.DevicePasswordBcrypt, password} {
		// Length-prefixed so that no two field splits hash alike.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// flightKey names concurrent checks of the same user and password without
// holding the password: an unsalted MAC under the process key.
func (c *verifiedCache) flightKey(u *User, password string) string {
	m := c.mac(nil, u, password)
	return hex.EncodeToString(m[:])
}

func (c *verifiedCache) verified(u *User, password string) bool {
	if c.ttl <= 0 {
		return false
	}
	now := c.now()
	c.mu.Lock()
	entries := c.pruneLocked(u.Address, now)
	c.mu.Unlock()
	found := false
	for _, e := range entries {
		m := c.mac(e.salt[:], u, password)
		// Check every entry, so timing does not depend on which one matched.
		if hmac.Equal(m[:], e.mac[:]) {
			found = true
		}
	}
	return found
}

func (c *verifiedCache) remember(u *User, password string) {
	if c.ttl <= 0 {
		return
	}
	e := verifiedEntry{expires: c.now().Add(c.ttl)}
	rand.Read(e.salt[:])
	e.mac = c.mac(e.salt[:], u, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	entries := c.pruneLocked(u.Address, c.now())
	if len(entries) >= c.perUser {
		entries = entries[1:] // the oldest, as entries are appended in order
	}
	c.entries[u.Address] = append(entries, e)
}

// pruneLocked drops the user's expired entries and returns a copy of the rest.
func (c *verifiedCache) pruneLocked(address string, now time.Time) []verifiedEntry {
	var live []verifiedEntry
	for _, e := range c.entries[address] {
		if now.Before(e.expires) {
			live = append(live, e)
		}
	}
	if len(live) == 0 {
		delete(c.entries, address)
		return nil
	}
	c.entries[address] = live
	return append([]verifiedEntry(nil), live...)
}
