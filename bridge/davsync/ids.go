package davsync

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// itemID returns the server ID of href in folder: "<folderID>:" and a
// base32 hash of the href, so it is the same on every poll and device and
// never longer than 64 characters (MS-ASCMD 2.2.3.166.7) for any folder
// ID the folder map hands out. taken reports IDs already used by other
// hrefs of the listing: a collision (never seen in practice at 65 bits)
// takes a longer hash rather than merging two objects.
func itemID(folderID, href string, taken func(id string) bool) string {
	sum := sha256.Sum256([]byte(href))
	enc := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))
	for _, n := range []int{13, 20, 30, len(enc)} {
		id := folderID + ":" + enc[:n]
		if taken == nil || !taken(id) {
			return id
		}
	}
	return folderID + ":" + enc
}

// folderOf returns the folder ID part of a server ID ("" when malformed).
func folderOf(serverID string) string {
	f, _, ok := strings.Cut(serverID, ":")
	if !ok {
		return ""
	}
	return f
}

// objectName is the file name a new object with this UID gets in its
// collection. The UID itself when it is plain (so a resent Add lands on
// the same href, and people reading the server see their UIDs), else a
// hash of it: the name is part of a URL and some servers limit its length.
func objectName(uid, ext string) string {
	plain := len(uid) > 0 && len(uid) <= 100
	for i := 0; plain && i < len(uid); i++ {
		c := uid[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if plain && uid[0] != '.' {
		return uid + ext
	}
	sum := sha256.Sum256([]byte(uid))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20])) + ext
}
