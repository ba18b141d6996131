package wbxml

import (
	"strconv"
	"testing"
)

// syncResponse builds a typical Sync response: one mail collection with n
// added messages carrying headers, a truncated HTML body and flags.
func syncResponse(n int) *Element {
	root := New(AirSync, "Sync")
	c := root.Add(AirSync, "Collections").Add(AirSync, "Collection")
	c.AddText(AirSync, "SyncKey", "1026753285")
	c.AddText(AirSync, "CollectionId", "7")
	c.AddText(AirSync, "Status", "1")
	cmds := c.Add(AirSync, "Commands")
	for i := 0; i < n; i++ {
		add := cmds.Add(AirSync, "Add")
		add.AddText(AirSync, "ServerId", "7:"+strconv.Itoa(1000+i))
		ad := add.Add(AirSync, "ApplicationData")
		ad.AddText(Email, "To", `"Alice Example" <alice@example.com>`)
		ad.AddText(Email, "From", `"Bob Example" <bob@example.com>`)
		ad.AddText(Email, "Subject", "Re: quarterly report, item "+strconv.Itoa(i))
		ad.AddText(Email, "DateReceived", "2024-01-15T09:12:31.000Z")
		ad.AddText(Email, "DisplayTo", "Alice Example")
		ad.AddText(Email, "Importance", "1")
		ad.AddText(Email, "Read", "0")
		body := ad.Add(AirSyncBase, "Body")
		body.AddText(AirSyncBase, "Type", "2")
		body.AddText(AirSyncBase, "EstimatedDataSize", "5120")
		body.AddText(AirSyncBase, "Truncated", "1")
		body.AddText(AirSyncBase, "Data", "<html><body><p>Hello Alice, here is the report you asked for. Regards, Bob</p></body></html>")
		ad.AddText(Email, "MessageClass", "IPM.Note")
		ad.AddText(Email, "InternetCPID", "65001")
		ad.Add(Email, "Flag")
		ad.AddText(Email, "ContentClass", "urn:content-classes:message")
		ad.AddText(AirSyncBase, "NativeBodyType", "2")
		ad.AddOpaque(Email2, "ConversationId", []byte("0123456789abcdef"))
	}
	c.Add(AirSync, "MoreAvailable")
	return root
}

func BenchmarkDecodeSync100(b *testing.B) {
	data, err := Encode(syncResponse(100))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSync100(b *testing.B) {
	root := syncResponse(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(root); err != nil {
			b.Fatal(err)
		}
	}
}

// piecesDoc is a Sync whose one SyncKey is sent as n inline-string pieces
// of one byte each: the shape of issue 17's 640 000-piece request.
func piecesDoc(n int) []byte {
	// WBXML 1.3, public id 1, UTF-8, empty string table; page 0 (AirSync).
	b := []byte{0x03, 0x01, 0x6A, 0x00}
	b = append(b, 0x45, 0x4B) // <Sync> <SyncKey>: tokens 0x05 and 0x0B with the content flag
	for range n {
		b = append(b, tokStrI, 'a', 0x00)
	}
	return append(b, tokEnd, tokEnd)
}

// BenchmarkDecodePieces decodes a text made of many STR_I pieces; its time
// per piece must not grow with the number of pieces.
func BenchmarkDecodePieces(b *testing.B) {
	for _, n := range []int{10_000, 40_000, 160_000} {
		data := piecesDoc(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(data, DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
