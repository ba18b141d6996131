// Package mailconv converts RFC 5322/MIME messages fetched over IMAP into
// ActiveSync Email items (MS-ASEMAIL, MS-ASAIRS) and maps read/flag/category
// state between IMAP flags and Sync Change elements.
//
// It does no I/O: the sync engine hands in the raw message bytes and what
// IMAP knows about them (Meta) and sends the returned WBXML element. Every
// decoder here is lenient on purpose: mail in the wild is often broken, and
// a phone that receives nothing for a message shows nothing, so a message
// that cannot be parsed still yields a valid item with whatever could be
// read, plus a *DecodeError for the log.
//
// Decisions worth knowing (the API doc in the brief left them open):
//
//   - 12.1 uses AirSyncBase:Attachments and AirSyncBase:Body exactly like
//     14.x/16.x: MS-ASEMAIL 2.2.2.4.2 and 2.2.2.10 restrict Email:Attachments,
//     Email:Body and Email:MIMEData to protocol 2.5, which we do not serve.
//     12.1 clients that only send MIMESupport=2 (no BodyPreference) get a
//     Type 4 body truncated per AirSync:MIMETruncation.
//   - No BodyPreference at all (and no MIME requested) means a plain-text
//     (Type 1) body without truncation.
//   - Type 3 (RTF) is answered with plain text and Type 1 in the Body.
//   - Type 2 requested for a plain-only message: if a later preference the
//     message satisfies natively exists, that one is used; otherwise the
//     plain text is wrapped into minimal HTML.
//   - MIMESupport 1 sends S/MIME messages as MIME regardless of preference
//     order (they cannot be read otherwise); MIMESupport 0 with an explicit
//     Type 4 BodyPreference still honours the preference.
//   - Type 4 data is the raw message as STR_I with NUL bytes removed; other
//     bytes (8-bit, even invalid UTF-8) are passed through untouched because
//     the device's MIME parser needs them as they were.
//   - Categories are the IMAP keywords that start with neither "\" nor "$"
//     and are not the junk markers Junk/NonJunk/NotJunk.
//   - FlagStatus 1 (complete) from a device clears \Flagged: IMAP has no
//     completed state and a completed follow-up is no longer pending.
package mailconv
