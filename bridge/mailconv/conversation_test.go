package mailconv

import (
	"bytes"
	"testing"
)

// ConversationID over just the conversation headers gives what the whole
// message gets in Sync; a reply with References joins its thread.
func TestConversationIDFromHeaders(t *testing.T) {
	full := []byte("From: a@example.test\r\nSubject: Hi\r\nMessage-ID: <root@x>\r\nContent-Type: text/plain\r\n\r\nbody\r\n")
	fields := []byte("Subject: Hi\r\nMessage-ID: <root@x>\r\n\r\n")
	reply := []byte("Subject: Re: Hi\r\nMessage-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\nReferences: <root@x>\r\n\r\n")
	other := []byte("Subject: Hi\r\nMessage-ID: <other@x>\r\n\r\n")
	h, _, _ := splitHeader(full)
	want := conversationID(h)
	if got := ConversationID(fields); !bytes.Equal(got, want) {
		t.Errorf("from fields %x, whole message %x", got, want)
	}
	if got := ConversationID(reply); !bytes.Equal(got, want) {
		t.Errorf("reply %x, thread %x", got, want)
	}
	if got := ConversationID(other); bytes.Equal(got, want) {
		t.Error("another thread has the same id")
	}
}
