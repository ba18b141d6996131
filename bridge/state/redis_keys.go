package state

import "strings"

// Redis key layout. Every key of a user starts with "ib:{<user>}:", so the
// hash tag puts all of a user's keys in one Cluster slot and a Lua script
// or MULTI may touch several of them.
//
//	ib:{u}:dev:<device>              string  device JSON
//	ib:{u}:devs                      set     device IDs (an index; may hold expired IDs)
//	ib:{u}:cols:<device>             hash    collection ID -> "<gen>\n<header JSON>"
//	ib:{u}:snap:<device>:<coll>      hash    server ID -> version
//	ib:{u}:watch                     hash    instance -> "<until ms>\n<watched folders JSON>"
//	ib:{u}:upver                     hash    mailbox/collection -> upstream version record (versions.go)
//	ib:users                         set     users with devices (global index, own slot)
//
// Headers live in one hash per device so ListCollections is one HGETALL and
// DeleteDevice finds every snapshot key from it. The generation is kept in
// front of the JSON so the Commit script compares it as a string, exactly,
// without decoding JSON.
//
// Names are escaped (keyPart) so that a ':' in a device or collection ID,
// or a brace in a user name, can neither make two keys collide nor move
// the hash tag.
const redisUsersKey = "ib:users"

// keyPart escapes '%', ':', '{' and '}' in one component of a key.
func keyPart(s string) string {
	if !strings.ContainsAny(s, "%:{}") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		case '{':
			b.WriteString("%7B")
		case '}':
			b.WriteString("%7D")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func userPrefix(user string) string { return "ib:{" + keyPart(user) + "}:" }

func redisDeviceKey(user, deviceID string) string {
	return userPrefix(user) + "dev:" + keyPart(deviceID)
}

func redisDevicesKey(user string) string { return userPrefix(user) + "devs" }

func redisColsKey(user, deviceID string) string {
	return userPrefix(user) + "cols:" + keyPart(deviceID)
}

func redisSnapKey(user, deviceID, collectionID string) string {
	return userPrefix(user) + "snap:" + keyPart(deviceID) + ":" + keyPart(collectionID)
}
