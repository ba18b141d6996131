// Package smtp submits mail to a user's provider (RFC 6409 message
// submission): implicit TLS or STARTTLS, AUTH with the user's upstream
// credentials, one transaction per message. Failures come back as *Error
// with a Kind, so the caller can tell a refused recipient from a message
// that is too large, a rejected login or a server that is down.
package smtp
