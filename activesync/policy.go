package activesync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/idlebridge/idlebridge/activesync/wbxml"
)

// PolicyTypeWBXML is the only policy type of protocol 12.0 and later
// (MS-ASPROV 2.2.2.43).
const PolicyTypeWBXML = "MS-EAS-Provisioning-WBXML"

// Policy is the security policy handed to devices in Provision. The zero
// value asks for nothing (no device password), which is what a bridge in
// front of an ordinary mail provider usually wants.
type Policy struct {
	RequirePassword      bool
	AlphanumericPassword bool
	MinPasswordLength    int
	AllowSimplePassword  bool
	MaxInactivityLock    time.Duration // 0: no limit
	MaxFailedAttempts    int           // 0: no limit
	PasswordExpiration   time.Duration // 0: never
	PasswordHistory      int
	MinComplexCharacters int
	RequireEncryption    bool
	RequireCardEncrypt   bool
	DisallowCamera       bool
	DisallowStorageCard  bool
	DisallowAttachments  bool
	MaxAttachmentBytes   int64 // 0: no limit
}

// Hash identifies the policy's content; a device that acknowledged a policy
// with another hash is told to provision again (status 143).
func (p Policy) Hash() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%+v", p)))
	return hex.EncodeToString(sum[:8])
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// provisionDoc builds the EASProvisionDoc (MS-ASPROV 2.2.2.28). Elements go
// in the order the schema lists them; clients such as older iOS versions
// are strict about order.
func (p Policy) provisionDoc() *wbxml.Element {
	d := wbxml.New(wbxml.Provision, "EASProvisionDoc")
	add := func(name, v string) { d.AddText(wbxml.Provision, name, v) }
	add("DevicePasswordEnabled", boolDigit(p.RequirePassword))
	if p.RequirePassword {
		add("AlphanumericDevicePasswordRequired", boolDigit(p.AlphanumericPassword))
	}
	add("PasswordRecoveryEnabled", "0")
	add("RequireStorageCardEncryption", boolDigit(p.RequireCardEncrypt))
	add("AttachmentsEnabled", boolDigit(!p.DisallowAttachments))
	if p.RequirePassword {
		add("MinDevicePasswordLength", strconv.Itoa(max(p.MinPasswordLength, 1)))
		if p.MaxInactivityLock > 0 {
			add("MaxInactivityTimeDeviceLock", strconv.Itoa(int(p.MaxInactivityLock/time.Second)))
		}
		if p.MaxFailedAttempts > 0 {
			add("MaxDevicePasswordFailedAttempts", strconv.Itoa(p.MaxFailedAttempts))
		}
	}
	// MS-ASPROV 2.2.2.30: the only element of this document whose type
	// allows empty, meaning "no limit"; every other one carries a number.
	if p.MaxAttachmentBytes > 0 {
		add("MaxAttachmentSize", strconv.FormatInt(p.MaxAttachmentBytes, 10))
	} else {
		d.Add(wbxml.Provision, "MaxAttachmentSize")
	}
	add("AllowSimpleDevicePassword", boolDigit(!p.RequirePassword || p.AllowSimplePassword))
	if p.RequirePassword && p.PasswordExpiration > 0 {
		add("DevicePasswordExpiration", strconv.Itoa(int(p.PasswordExpiration/(24*time.Hour))))
	}
	if p.RequirePassword {
		add("DevicePasswordHistory", strconv.Itoa(p.PasswordHistory))
	}
	add("AllowStorageCard", boolDigit(!p.DisallowStorageCard))
	add("AllowCamera", boolDigit(!p.DisallowCamera))
	add("RequireDeviceEncryption", boolDigit(p.RequireEncryption))
	add("AllowUnsignedApplications", "1")
	add("AllowUnsignedInstallationPackages", "1")
	if p.RequirePassword && p.AlphanumericPassword && p.MinComplexCharacters > 0 {
		add("MinDevicePasswordComplexCharacters", strconv.Itoa(p.MinComplexCharacters))
	}
	add("AllowWiFi", "1")
	add("AllowTextMessaging", "1")
	add("AllowPOPIMAPEmail", "1")
	add("AllowBluetooth", "2")
	add("AllowIrDA", "1")
	add("RequireManualSyncWhenRoaming", "0")
	add("AllowDesktopSync", "1")
	add("MaxCalendarAgeFilter", "0")
	add("AllowHTMLEmail", "1")
	add("MaxEmailAgeFilter", "0")
	// MS-ASPROV 2.2.2.34/35: integers, -1 = no truncation. Unlike
	// MaxAttachmentSize (unsignedIntOrEmpty, 2.2.2.30) these have no empty
	// form, and a client that reads an empty one as 0 keeps only headers.
	add("MaxEmailBodyTruncationSize", "-1")
	add("MaxEmailHTMLBodyTruncationSize", "-1")
	add("RequireSignedSMIMEMessages", "0")
	add("RequireEncryptedSMIMEMessages", "0")
	add("AllowSMIMESoftCerts", "1")
	add("AllowBrowser", "1")
	add("AllowConsumerEmail", "1")
	add("AllowRemoteDesktop", "1")
	add("AllowInternetSharing", "1")
	return d
}
