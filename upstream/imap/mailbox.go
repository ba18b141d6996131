package imap

import (
	"context"

	imapv2 "github.com/emersion/go-imap/v2"
)

// Status is what the bridge needs to know about a mailbox to decide
// whether to sync it. HighestModSeq is 0 without CONDSTORE.
type Status struct {
	UIDValidity   uint32
	UIDNext       uint32
	Messages      uint32
	Unseen        uint32 // 0 from Select (SELECT does not report it)
	HighestModSeq uint64
}

// Status asks STATUS of a mailbox without selecting it.
func (s *Session) Status(ctx context.Context, name string) (Status, error) {
	opts := &imapv2.StatusOptions{
		NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true,
		HighestModSeq: s.caps.CondStore,
	}
	var d *imapv2.StatusData
	err := s.do(ctx, "status", 1, func() error {
		var err error
		d, err = s.client.Status(name, opts).Wait()
		return err
	})
	if err != nil {
		return Status{}, err
	}
	return statusFrom(d), nil
}

func statusFrom(d *imapv2.StatusData) Status {
	st := Status{UIDValidity: d.UIDValidity, UIDNext: uint32(d.UIDNext), HighestModSeq: d.HighestModSeq}
	if d.NumMessages != nil {
		st.Messages = *d.NumMessages
	}
	if d.NumUnseen != nil {
		st.Unseen = *d.NumUnseen
	}
	return st
}

// Select opens a mailbox for the message commands (EXAMINE when readOnly).
// With CONDSTORE it asks for it, so HIGHESTMODSEQ comes back and later
// FETCHes may use MODSEQ/CHANGEDSINCE. Unseen is not filled.
func (s *Session) Select(ctx context.Context, name string, readOnly bool) (Status, error) {
	opts := &imapv2.SelectOptions{ReadOnly: readOnly, CondStore: s.caps.CondStore}
	s.selected = ""
	var d *imapv2.SelectData
	err := s.do(ctx, "select", 1, func() error {
		var err error
		d, err = s.client.Select(name, opts).Wait()
		return err
	})
	if err != nil {
		return Status{}, err
	}
	s.selected, s.readOnly = name, readOnly
	return Status{
		UIDValidity:   d.UIDValidity,
		UIDNext:       uint32(d.UIDNext),
		Messages:      d.NumMessages,
		HighestModSeq: d.HighestModSeq,
	}, nil
}
