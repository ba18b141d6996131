package bridge

import (
	"context"

	"github.com/idlebridge/idlebridge/activesync"
)

// SearchMailbox implements activesync.MailboxSearcher: Search and Find of
// the mailbox are mail's (bridge/mail/search.go). Calendar, contacts and
// tasks collections named in a query match nothing there.
func (b *Bridge) SearchMailbox(ctx context.Context, a activesync.Account, deviceID string, q *activesync.MailboxQuery) (*activesync.MailboxResult, error) {
	return b.Mail.SearchMailbox(ctx, a, deviceID, q)
}
