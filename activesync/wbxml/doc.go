// Package wbxml is the WAP Binary XML 1.3 codec as Exchange ActiveSync uses
// it (MS-ASWBXML), with every EAS code page of protocol 16.1.
//
// Only what MS-ASWBXML 2.1.1 uses is supported: tags with code pages, inline
// strings (STR_I) and opaque data (OPAQUE). String tables, entities,
// attributes, literals, extensions and processing instructions are rejected
// with a *SyntaxError. Input never causes a panic, and Limits bound what a
// hostile body can make the decoder allocate.
//
// Decoded text is not checked to be valid UTF-8 (the header announces
// UTF-8, charset 106); callers that render it must cope.
package wbxml
