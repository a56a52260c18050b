// Package v21 holds the OCPP 2.1 messages: Go types generated from the official JSON schemas
// and a reflection-free validator for every request and response. NotifyPeriodicEventStream is
// a SEND message: it has a request type and no response. See internal/ocpp/gen for the type
// conventions (date-time stays a string in RFC 3339 form; optional numbers, booleans and objects
// are pointers; customData keeps only vendorId when decoded).
package v21

//go:generate go run ../gen -in ../../../../shared/ocpp-schemas/ocpp2_1.json -pkg v21 -version V21 -out messages_gen.go
