package client

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func multipartBody(parts ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(parts)))
	off := 4 + 8*len(parts)
	for _, p := range parts {
		b = binary.LittleEndian.AppendUint32(b, uint32(off))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		off += len(p)
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestDecodeMultipart(t *testing.T) {
	want := [][]byte{[]byte("\x03\x01\x6a\x00"), []byte("attachment"), {}}
	got, err := DecodeMultipart(multipartBody(want...))
	if err != nil || len(got) != 3 {
		t.Fatalf("DecodeMultipart: %d parts, %v", len(got), err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("part %d = %q, want %q", i, got[i], want[i])
		}
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0, 12, 0, 0, 0}, {1, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0}} {
		if _, err := DecodeMultipart(bad); err == nil {
			t.Errorf("DecodeMultipart(%x) accepted", bad)
		}
	}
}

func FuzzDecodeMultipart(f *testing.F) {
	f.Add(multipartBody([]byte("doc"), []byte("data")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := DecodeMultipart(b)
		if err != nil {
			return
		}
		for _, p := range parts {
			if len(p) > len(b) {
				t.Fatalf("part longer than the body")
			}
		}
	})
}
