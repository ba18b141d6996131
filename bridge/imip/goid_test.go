package imip

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// The two worked examples of MS-ASEMAIL 4.3.
const (
	specOutlookGOID = "BAAAAIIA4AB0xbcQGoLgCAfUCRDgQMnBJoXEAQAAAAAAAAAAEAAAAAvw7UtuTulOnjnjhns3jvM="
	specOutlookUID  = "040000008200E00074C5B7101A82E00800000000E040C9C12685C4010000000000000000100000000BF0ED4B6E4EE94E9E39E3867B378EF3"
	specVCalGOID    = "BAAAAIIA4AB0xbcQGoLgCAAAAAAAAAAAAAAAAAAAAAAAAAAAMwAAAHZDYWwtVWlkAQAAAHs4MTQxMkQzQy0yQTI0LTRFOUQtQjIwRS0xMUY3QkJFOTI3OTl9AA=="
	specVCalUID     = "{81412D3C-2A24-4E9D-B20E-11F7BBE92799}"
)

func TestUIDFromGlobalObjIDSpecExamples(t *testing.T) {
	uid, inst, err := UIDFromGlobalObjID(specOutlookGOID)
	if err != nil {
		t.Fatal(err)
	}
	if uid != specOutlookUID {
		t.Errorf("Outlook GOID → %s, want %s", uid, specOutlookUID)
	}
	if want := time.Date(2004, 9, 16, 0, 0, 0, 0, time.UTC); !inst.Equal(want) {
		t.Errorf("instance date %v, want %v", inst, want)
	}
	uid, inst, err = UIDFromGlobalObjID(specVCalGOID)
	if err != nil {
		t.Fatal(err)
	}
	if uid != specVCalUID || !inst.IsZero() {
		t.Errorf("vCal GOID → %q %v, want %q and no instance", uid, inst, specVCalUID)
	}
}

func TestGlobalObjIDSpecVCal(t *testing.T) {
	// The vCal form with a zero creation time is byte for byte the spec's
	// second example.
	if got := EncodeGlobalObjID(specVCalUID, time.Time{}); got != specVCalGOID {
		t.Errorf("EncodeGlobalObjID = %s\nwant %s", got, specVCalGOID)
	}
}

func TestGlobalObjIDRoundTrip(t *testing.T) {
	uids := []string{
		specVCalUID,
		"5q8r2kd1vd3m0fh4c9mhn1j2ab@google.com",
		"7f3c9a52-1e4b-4d8a-9c61-2b5e8f0d4a17",
		"ünïcode-uid-☃",
		specOutlookUID,
		strings.ToLower(specOutlookUID),            // Outlook writes upper case; read either
		"040000008200E00074C5B7101A82E008-not-hex", // looks Outlook, is not: vCal form
		"x",
	}
	for _, uid := range uids {
		for _, inst := range []time.Time{{}, time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)} {
			enc := EncodeGlobalObjID(uid, inst)
			got, gotInst, err := UIDFromGlobalObjID(enc)
			if err != nil {
				t.Fatalf("%q: %v", uid, err)
			}
			want := uid
			if _, ok := outlookGOID(uid); ok {
				want = strings.ToUpper(uid)
			}
			if got != want || !gotInst.Equal(inst) {
				t.Errorf("%q at %v: back as %q at %v", uid, inst, got, gotInst)
			}
		}
	}
}

func TestGlobalObjIDOutlookKeepsBytes(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(specOutlookGOID)
	clear(raw[16:20])
	if got := GlobalObjID(specOutlookUID, time.Time{}); !bytes.Equal(got, raw) {
		t.Errorf("Outlook UID wrapped instead of decoded:\n%x\nwant\n%x", got, raw)
	}
	if b := GlobalObjID(specOutlookUID, time.Time{}); bytes.Contains(b, []byte(vcalMarker)) {
		t.Error("Outlook UID got the vCal marker")
	}
}

func TestUIDFromGlobalObjIDRejects(t *testing.T) {
	for _, s := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short")),
		base64.StdEncoding.EncodeToString(make([]byte, 60)),   // no class ID
		specOutlookGOID[:len(specOutlookGOID)-8] + "AAAAAA==", // byte count does not match
	} {
		if _, _, err := UIDFromGlobalObjID(s); !errors.Is(err, ErrNotGOID) {
			t.Errorf("%q: err %v, want ErrNotGOID", s, err)
		}
	}
}
