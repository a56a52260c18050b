// Package errs is the one error type of EVCS. Code anywhere returns an *Error with a Kind;
// the edges (HTTP, OCPP, CLI) map the kind to a status code once.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for the edges.
type Kind uint8

const (
	Internal Kind = iota
	NotFound
	Invalid
	Conflict
	Unauthorized
	Forbidden
	InsufficientFunds
	Unavailable
)

var kindNames = [...]string{"internal", "not_found", "invalid", "conflict", "unauthorized", "forbidden", "insufficient_funds", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error carries a kind, a message for humans, and optionally the field it is about.
type Error struct {
	Kind  Kind
	Op    string // operation that failed, e.g. "CreateSite"
	Field string // offending input field, snake_case path ("address.city"), when known
	Msg   string
	Err   error // wrapped cause
}

func (e *Error) Error() string {
	var parts [4]string
	n := 0
	for _, p := range [...]string{e.Op, e.Field, e.Msg} {
		if p != "" {
			parts[n] = p
			n++
		}
	}
	if e.Err != nil {
		parts[n] = e.Err.Error()
		n++
	}
	return strings.Join(parts[:n], ": ")
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of a kind with a formatted message.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Wrap names the operation; the kind of err (if any) is kept.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		if c.Op == "" {
			c.Op = op
		} else {
			c.Op = op + ": " + c.Op
		}
		return &c
	}
	return &Error{Kind: Internal, Op: op, Err: err}
}

// KindOf returns the kind of err, Internal when it carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// FieldOf returns the field an error is about, "" if none.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Message returns the message without the operation prefix, for showing to clients.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		m := e.Msg
		if e.Field != "" {
			m = e.Field + ": " + m
		}
		if m == "" && e.Err != nil && e.Kind != Internal {
			m = e.Err.Error()
		}
		if m == "" || e.Kind == Internal {
			return "internal error"
		}
		return m
	}
	return "internal error"
}

// HTTPStatus is the HTTP status of a kind, for the edges that speak HTTP (the API and the
// console): one mapping, so they cannot drift apart.
func HTTPStatus(k Kind) int {
	switch k {
	case NotFound:
		return 404
	case Invalid:
		return 422
	case Conflict:
		return 409
	case Unauthorized:
		return 401
	case Forbidden:
		return 403
	case InsufficientFunds:
		return 402
	case Unavailable:
		return 503
	}
	return 500
}
