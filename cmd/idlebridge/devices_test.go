package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idlebridge/idlebridge/bridge/state"
	"github.com/idlebridge/idlebridge/internal/testenv"
)

// adminEnv is a config file naming a store, and the store's coordinates.
type adminEnv struct {
	cfgPath string
	open    func(t *testing.T) state.Store // a second handle, for seeding and asserting
}

func embeddedAdminEnv(t *testing.T) adminEnv {
	dataDir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nusers_dir: %q\n", dataDir, t.TempDir()))
	return adminEnv{cfgPath: cfg, open: func(t *testing.T) state.Store {
		t.Helper()
		s, err := state.OpenEmbeddedDir(dataDir, state.EmbeddedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

func redisAdminEnv(t *testing.T) adminEnv {
	url := testenv.RedisURL(t)
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nusers_dir: %q\nredis:\n  url: %q\n", t.TempDir(), t.TempDir(), url))
	return adminEnv{cfgPath: cfg, open: func(t *testing.T) state.Store {
		t.Helper()
		s, _, err := state.Open(context.Background(), state.Config{RedisURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

// seedDevice creates a provisioned device with a folder hierarchy and two
// synced folders, "7" holding two items.
func seedDevice(t *testing.T, s state.Store, user, dev string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	_, err := s.UpdateDevice(ctx, user, dev, func(d *state.Device) error {
		d.Type, d.ProtocolVersion, d.UserAgent = "iPhone", "16.1", "Apple-iPhone/2101"
		d.Info = map[string]string{"Model": "iPhone15,2", "OS": "iOS 17.4"}
		d.PolicyKey = 12345
		d.FirstSeen, d.LastSeen = now, now
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id  string
		set map[string]string
	}{
		{"", map[string]string{"7": "a", "8": "b"}},
		{"7", map[string]string{"7:1": "m1", "7:2": "m2"}},
		{"8", nil},
	} {
		if _, err := s.Commit(ctx, user, dev, c.id, 0, state.CommitRequest{SyncKey: "3", PrevSyncKey: "2", Apply: &state.Delta{Set: c.set}}); err != nil {
			t.Fatalf("commit %q: %v", c.id, err)
		}
	}
}

func runDevices(t *testing.T, env adminEnv, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := devicesMain(context.Background(), append(args, "--config", env.cfgPath), strings.NewReader(stdin), &out)
	return out.String(), err
}

func TestDevicesCommands(t *testing.T) {
	engines := []struct {
		name string
		env  func(t *testing.T) adminEnv
	}{
		{"embedded", embeddedAdminEnv},
		{"redis", redisAdminEnv},
	}
	for _, engine := range engines {
		t.Run(engine.name, func(t *testing.T) {
			clearConfigEnv(t)
			env := engine.env(t)
			user := testenv.UniqueUser(t)
			other := testenv.UniqueUser(t)
			// The embedded engine allows one open handle at a time: seed,
			// close, run the command, reopen to assert.
			withStore := func(fn func(s state.Store)) {
				t.Helper()
				s := env.open(t)
				defer s.Close()
				fn(s)
			}
			withStore(func(s state.Store) {
				seedDevice(t, s, user, "phone1")
				seedDevice(t, s, user, "tablet2")
				seedDevice(t, s, other, "phone9")
			})

			out, err := runDevices(t, env, "", "list", strings.ToUpper(user))
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			for _, want := range []string{"DEVICE", user, "phone1", "tablet2", "iPhone", "16.1", "none"} {
				if !strings.Contains(out, want) {
					t.Errorf("list output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, other) || strings.Contains(out, state.UserScope) {
				t.Errorf("list of one user shows another user or internal state:\n%s", out)
			}
			// Two folder collections; the hierarchy is not counted.
			if !strings.Contains(strings.Fields(lineWith(out, "phone1"))[len(strings.Fields(lineWith(out, "phone1")))-1], "2") {
				t.Errorf("phone1 row should count 2 collections: %q", lineWith(out, "phone1"))
			}

			out, err = runDevices(t, env, "", "list")
			if err != nil {
				t.Fatalf("list all: %v", err)
			}
			if !strings.Contains(out, other) || !strings.Contains(out, user) {
				t.Errorf("list of everyone lacks a user:\n%s", out)
			}

			out, err = runDevices(t, env, "", "show", user, "phone1")
			if err != nil {
				t.Fatalf("show: %v", err)
			}
			for _, want := range []string{"iPhone15,2", "iOS 17.4", "policy key 12345", "(folder hierarchy)", "Apple-iPhone/2101"} {
				if !strings.Contains(out, want) {
					t.Errorf("show output lacks %q:\n%s", want, out)
				}
			}
			if f := strings.Fields(lineWith(out, "  7 ")); len(f) < 4 || f[1] != "3" || f[2] != "2" || f[3] != "2" {
				t.Errorf("collection 7 row = %q, want key 3, previous 2, 2 items", lineWith(out, "  7 "))
			}

			// resync one collection: only it is gone.
			if _, err := runDevices(t, env, "", "resync", user, "phone1", "7"); err != nil {
				t.Fatalf("resync 7: %v", err)
			}
			withStore(func(s state.Store) {
				ctx := context.Background()
				if _, err := s.GetCollection(ctx, user, "phone1", "7"); !errors.Is(err, state.ErrNotFound) {
					t.Errorf("after resync, collection 7: %v, want not found", err)
				}
				if _, err := s.GetCollection(ctx, user, "phone1", "8"); err != nil {
					t.Errorf("resync of 7 touched 8: %v", err)
				}
			})
			if _, err := runDevices(t, env, "", "resync", user, "phone1", "99"); err == nil {
				t.Error("resync of an unknown collection succeeded")
			}
			// resync all: folders go, the hierarchy stays without --hierarchy.
			if _, err := runDevices(t, env, "", "resync", user, "tablet2"); err != nil {
				t.Fatalf("resync all: %v", err)
			}
			withStore(func(s state.Store) {
				cols, err := s.ListCollections(context.Background(), user, "tablet2")
				if err != nil {
					t.Fatal(err)
				}
				if len(cols) != 1 || cols[0].ID != "" {
					t.Errorf("after resync of all folders: %d collections left, want only the hierarchy", len(cols))
				}
			})
			if _, err := runDevices(t, env, "", "resync", "--hierarchy", user, "tablet2"); err != nil {
				t.Fatalf("resync --hierarchy: %v", err)
			}
			withStore(func(s state.Store) {
				if cols, _ := s.ListCollections(context.Background(), user, "tablet2"); len(cols) != 0 {
					t.Errorf("after resync --hierarchy: %d collections left", len(cols))
				}
			})

			// wipe: refused without confirmation, done with it.
			if _, err := runDevices(t, env, "no\n", "wipe", user, "phone1"); err == nil {
				t.Error("wipe went ahead without confirmation")
			}
			withStore(func(s state.Store) {
				if d, _ := s.GetDevice(context.Background(), user, "phone1"); d == nil || d.Wipe != state.WipeNone {
					t.Errorf("a cancelled wipe changed the device: %+v", d)
				}
			})
			if _, err := runDevices(t, env, "yes\n", "wipe", user, "phone1"); err != nil {
				t.Fatalf("confirmed wipe: %v", err)
			}
			if _, err := runDevices(t, env, "", "wipe", user, "tablet2", "--yes"); err != nil {
				t.Fatalf("wipe --yes: %v", err)
			}
			withStore(func(s state.Store) {
				for _, dev := range []string{"phone1", "tablet2"} {
					d, err := s.GetDevice(context.Background(), user, dev)
					if err != nil || d.Wipe != state.WipeRequested || d.WipeRequested.IsZero() {
						t.Errorf("%s after wipe: %+v, %v", dev, d, err)
					}
				}
			})
			out, _ = runDevices(t, env, "", "list", user)
			if !strings.Contains(lineWith(out, "phone1"), "requested") {
				t.Errorf("list does not show the wipe: %q", lineWith(out, "phone1"))
			}
			if _, err := runDevices(t, env, "", "wipe", user, "nosuch", "--yes"); err == nil {
				t.Error("wipe of an unknown device succeeded")
			}

			// remove.
			if _, err := runDevices(t, env, "", "remove", user, "phone1"); err != nil {
				t.Fatalf("remove: %v", err)
			}
			withStore(func(s state.Store) {
				if _, err := s.GetDevice(context.Background(), user, "phone1"); !errors.Is(err, state.ErrNotFound) {
					t.Errorf("after remove: %v, want not found", err)
				}
				if _, err := s.GetDevice(context.Background(), user, "nosuch"); !errors.Is(err, state.ErrNotFound) {
					t.Errorf("wipe of an unknown device created it: %v", err)
				}
			})
		})
	}
}

func TestDevicesArguments(t *testing.T) {
	clearConfigEnv(t)
	env := embeddedAdminEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"show", "a@example.com"}, "wrong number of arguments"},
		{[]string{"list", "a", "b"}, "wrong number of arguments"},
		{[]string{"show", "a@example.com", "~user"}, "internal state"},
		{[]string{"show", "a@example.com", "nophone"}, "no device"},
	}
	for _, tt := range tests {
		_, err := runDevices(t, env, "", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("devices %v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}

// The embedded file is locked while the server runs: the admin command
// must say so instead of hanging or failing obscurely.
func TestDevicesEmbeddedLocked(t *testing.T) {
	clearConfigEnv(t)
	env := embeddedAdminEnv(t)
	s := env.open(t) // stands in for the running server
	defer s.Close()
	_, err := runDevices(t, env, "", "list")
	if !errors.Is(err, errLocked) {
		t.Fatalf("err = %v, want errLocked", err)
	}
}

func lineWith(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
