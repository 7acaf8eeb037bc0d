// Package payby is a client for PayBy's (Botim Money's) acquiring API as an
// exit lane uses it: DYNQR orders shown as a QR code, queried until paid,
// cancelled, revoked or refunded, plus verification of PayBy's signed
// notifications.
//
// Every request body is marshalled once and signed over exactly those bytes
// (SHA256withRSA, standard Base64, header "sign"); every response and
// notification is verified over its raw bytes before anything is decoded.
// Amounts are money.Fils inside and exact two-decimal JSON numbers on the
// wire; a third decimal in anything PayBy sends is an error, never a
// rounding.
//
// Failures come in three kinds: *Error for an answer from PayBy (with
// helpers IsAlreadyPaid, IsNotFound, ...), ErrAmbiguous when an operation
// may or may not have happened, and the other sentinels (ErrTransport,
// ErrBadSignature, ...). docs/payby-reference.md lists the PayBy facts the
// package relies on, with their sources.
//
// Package payby/sandbox is a PayBy-compatible server for development.
package payby
