package client

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ContentTypeMultipart is the media type of a multipart ItemOperations
// answer (MS-ASCMD 2.2.1.10.1).
const ContentTypeMultipart = "application/vnd.ms-sync.multipart"

// maxParts bounds the PartsCount a decoder believes.
const maxParts = 1 << 16

// DecodeMultipart splits a MultiPartResponse (MS-ASCMD 2.2.1.10.1.1):
// PartsCount, then an (Offset, Length) pair per part, 4-byte little-endian
// integers, offsets counted from the start of body. Part 0 is the WBXML.
// The parts alias body.
func DecodeMultipart(body []byte) ([][]byte, error) {
	if len(body) < 4 {
		return nil, errors.New("activesync: multipart answer shorter than its part count")
	}
	n := binary.LittleEndian.Uint32(body)
	if n == 0 || n > maxParts || uint64(len(body)) < 4+8*uint64(n) {
		return nil, fmt.Errorf("activesync: multipart answer with %d parts in %d bytes", n, len(body))
	}
	parts := make([][]byte, n)
	for i := range parts {
		off := uint64(binary.LittleEndian.Uint32(body[4+8*i:]))
		l := uint64(binary.LittleEndian.Uint32(body[8+8*i:]))
		if off+l > uint64(len(body)) {
			return nil, fmt.Errorf("activesync: multipart part %d (%d+%d) beyond the %d-byte answer", i, off, l, len(body))
		}
		parts[i] = body[off : off+l]
	}
	return parts, nil
}
