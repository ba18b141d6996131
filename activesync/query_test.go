package activesync_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/idlebridge/idlebridge/activesync"
	"github.com/idlebridge/idlebridge/activesync/client"
)

func netipAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestParseQuery(t *testing.T) {
	hdr := map[string]string{"MS-ASProtocolVersion": "14.1", "X-MS-PolicyKey": "3942919513", "MS-ASAcceptMultiPart": "T"}
	get := func(k string) string { return hdr[k] }
	q, err := activesync.ParseQuery("Cmd=Sync&User=alice&DeviceId=Appl123&DeviceType=iPhone&SaveInSent=T&CollectionId=7", get)
	if err != nil {
		t.Fatal(err)
	}
	want := activesync.Query{Cmd: "Sync", User: "alice", DeviceID: "Appl123", DeviceType: "iPhone", ProtocolVersion: "14.1",
		PolicyKey: 3942919513, HasPolicyKey: true, SaveInSent: true, AcceptMultiPart: true, CollectionID: "7"}
	if *q != want {
		t.Errorf("plain form:\n got %+v\nwant %+v", *q, want)
	}

	// The example of MS-ASHTTP 2.2.1.1.1.1.
	q, err = activesync.ParseQuery("jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l", nil)
	if err != nil {
		t.Fatal(err)
	}
	want = activesync.Query{Cmd: "Sync", DeviceID: "v140Device", DeviceType: "SmartPhone", ProtocolVersion: "14.0", Locale: 0x0409, Base64Form: true}
	if *q != want {
		t.Errorf("spec example:\n got %+v\nwant %+v", *q, want)
	}

	enc, err := client.EncodeBase64Query("16.1", "SmartReply", "ABCDEF0123", "Android", 77, "alice@example.com",
		client.Params{CollectionID: "5", ItemID: "5:17", SaveInSent: true, LongID: "L1", AttachmentName: "5:17:2", Occurrence: "x"})
	if err != nil {
		t.Fatal(err)
	}
	q, err = activesync.ParseQuery(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = activesync.Query{Cmd: "SmartReply", User: "alice@example.com", DeviceID: "ABCDEF0123", DeviceType: "Android", ProtocolVersion: "16.1",
		PolicyKey: 77, HasPolicyKey: true, Locale: 0x0409, CollectionID: "5", ItemID: "5:17", LongID: "L1", AttachmentName: "5:17:2",
		Occurrence: "x", SaveInSent: true, Base64Form: true}
	if *q != want {
		t.Errorf("base64 round trip:\n got %+v\nwant %+v", *q, want)
	}
	// A 16-byte binary device ID becomes hex.
	raw := []byte{141, 9, 9, 4, 16}
	raw = append(raw, []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}...)
	raw = append(raw, 0, 3, 'i', 'O', 'S')
	q, err = activesync.ParseQuery(b64(raw), nil)
	if err != nil || q.DeviceID != "DEADBEEF0102030405060708090A0B0C" || q.Cmd != "FolderSync" {
		t.Errorf("binary device id: %+v %v", q, err)
	}

	for _, bad := range []string{"", "Cmd=Sync", "Cmd=Sync&DeviceId=", "Cmd=Sync&DeviceId=a%00b", "jAAJ", "AAAAAA", "%zz", b64([]byte{141, 99, 9, 4, 1, 'a', 0, 1, 'x'}),
		b64([]byte{141, 0, 9, 4, 1, 'a', 3, 1, 2, 3, 1, 'x'}), b64([]byte{141, 0, 9, 4, 1, 'a', 0, 1, 'x', 1, 9, 'z'})} {
		if q, err := activesync.ParseQuery(bad, get); err == nil {
			t.Errorf("ParseQuery(%q) = %+v, want an error", bad, q)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("Cmd=Sync&User=alice&DeviceId=Appl123&DeviceType=iPhone")
	f.Add("jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l")
	f.Add(b64([]byte{141, 9, 9, 4, 2, 'a', 'b', 4, 1, 2, 3, 4, 1, 'x', 7, 1, 3, 8, 1, 'u'}))
	f.Fuzz(func(t *testing.T, s string) {
		q, err := activesync.ParseQuery(s, func(string) string { return "14.1" })
		if err != nil {
			return
		}
		if q.Cmd == "" || q.DeviceID == "" || len(q.DeviceID) > 64 {
			t.Fatalf("accepted an invalid query %q: %+v", s, q)
		}
	})
}

// MS-ASHTTP 2.2.1.1.1.1: iOS sends the base64 query unescaped, so a
// literal '+' is base64, never a form-encoded space; the %2B form works too.
func TestParseBase64QueryPlus(t *testing.T) {
	for key := uint32(1); key < 1<<16; key++ {
		enc, err := client.EncodeBase64Query("14.1", "FolderSync", "Appl123", "iPhone", key, "alice@example.com", client.Params{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(enc, "+") {
			continue
		}
		escaped := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(enc)
		for _, raw := range []string{enc, escaped, strings.TrimRight(enc, "=")} {
			q, err := activesync.ParseQuery(raw, nil)
			if err != nil {
				t.Fatalf("ParseQuery(%q) with policy key %d: %v", raw, key, err)
			}
			if q.PolicyKey != key || q.Cmd != "FolderSync" || q.DeviceID != "Appl123" || q.User != "alice@example.com" {
				t.Fatalf("ParseQuery(%q) = %+v, want policy key %d", raw, q, key)
			}
		}
		return
	}
	t.Fatal("no policy key below 65536 encodes to a '+'")
}
