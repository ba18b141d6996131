// Package cardconv converts between vCard 3.0 (RFC 2426) / 4.0 (RFC 6350)
// address-book entries and the ActiveSync Contact item (MS-ASCNTC,
// activesync/items).
//
// The stored card is the truth. Reading (ToContact) maps what the device can
// show; writing (Merge) never regenerates a card: it patches the stored
// card's lines for the elements the device changed, so unmapped properties,
// Apple groups (item1.X-ABLabel), parameters, line order and a photo the
// device did not change survive byte for byte after unfolding (research P5:
// regenerating is how Z-Push loses anniversaries, IMs and X- properties).
// Reading and writing share one table of slots (fields.go), so each EAS
// element is written back to the very line it was read from.
//
// go-vcard is used as the parser of each line's group, name and parameters;
// values are unescaped here because go-vcard does not split structured
// values on escaped semicolons.
package cardconv
