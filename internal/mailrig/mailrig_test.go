package mailrig

import (
	"bytes"
	"testing"

	"github.com/idlebridge/idlebridge/bridge/accounts"
)

// TestRig: the account's own config logs in, what Seed appends Messages
// reads back, and each call makes a new user.
func TestRig(t *testing.T) {
	acct, cfg := Account(t)
	if acct.Principal.User.Login.Mode != accounts.ModePassthrough || acct.Address() != cfg.Username {
		t.Fatalf("account %+v, config user %q", acct.Principal.User, cfg.Username)
	}
	s := Dial(t, cfg)
	Seed(t, s, "INBOX", 2)
	msgs, flags := Messages(t, s, "INBOX")
	if len(msgs) != 2 || len(flags) != 2 || !bytes.Contains(msgs[1], []byte("Subject: seed 1\r\n")) {
		t.Fatalf("INBOX holds %d messages: %q", len(msgs), msgs)
	}
	other, _ := SendAccount(t, "127.0.0.1:25")
	if other.Address() == acct.Address() || other.Principal.User.SMTP.Port != 25 || other.Principal.User.Login.Mode != accounts.ModeAppPassword {
		t.Fatalf("send account %+v", other.Principal.User)
	}
}
