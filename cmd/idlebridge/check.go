package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// cmdCheck validates the configuration and every user file, and says what
// is wrong in words an operator can act on.
func cmdCheck(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadValidConfig(*cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "config: ok (listen %s, public URL %s)\n", cfg.Listen, cfg.PublicURL)
	if cfg.Redis.URL != "" {
		fmt.Fprintln(out, "store: redis")
	} else {
		fmt.Fprintf(out, "store: embedded in %s\n", cfg.DataDir)
	}
	dir, err := accounts.OpenDirectory(ctx, cfg.UsersDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	for _, u := range dir.Users() {
		fmt.Fprintf(out, "user %s: ok (%s login, IMAP %s %s)\n", u.Address, u.Login.Mode, u.IMAP.Addr(), u.IMAP.Security)
	}
	problems := dir.Problems()
	for _, p := range problems {
		fmt.Fprintf(out, "user file problem: %s\n", p.Error())
	}
	fmt.Fprintf(out, "%d users loaded from %s\n", len(dir.Users()), cfg.UsersDir)
	if len(problems) > 0 {
		return errors.New("some user files are invalid")
	}
	return nil
}
