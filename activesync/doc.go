// Package activesync speaks Exchange ActiveSync to phones: the MS-ASHTTP
// front at /Microsoft-Server-ActiveSync (OPTIONS, POST with the plain or the
// base64 query form, Basic auth), Autodiscover, and one file per command.
//
// It knows nothing of IMAP, DAV or the store. Everything it needs from the
// rest of the bridge goes through the Backend interface (backend.go); the
// commands beyond the foundation (FolderSync, Sync, Ping, ...) are optional
// interfaces a Backend may implement, checked by type assertion, so a
// command that is not built yet is visibly absent rather than half there.
//
// Errors: handlers return typed errors (errors.go); one function,
// Server.fail, turns them into the HTTP code or the EAS Status the client's
// protocol version expects, the log line and the metric label.
package activesync
