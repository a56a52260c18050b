// Package v201 holds the OCPP 2.0.1 messages: Go types generated from the official JSON schemas
// and a reflection-free validator for every request and response. See internal/ocpp/gen for the
// type conventions (date-time stays a string in RFC 3339 form; optional numbers, booleans and
// objects are pointers; customData keeps only vendorId when decoded).
package v201

//go:generate go run ../gen -in ../../../../shared/ocpp-schemas/ocpp2_0_1.json -pkg v201 -version V201 -out messages_gen.go
