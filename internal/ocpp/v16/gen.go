// Package v16 holds the OCPP 1.6J messages (including the security extension messages in the
// official schema file): Go types generated from the official JSON schemas and a reflection-free
// validator for every request and response. See internal/ocpp/gen for the type conventions
// (date-time stays a string in RFC 3339 form; optional numbers, booleans and objects are
// pointers).
package v16

//go:generate go run ../gen -in ../../../../shared/ocpp-schemas/ocpp1_6.json -pkg v16 -version V16 -out messages_gen.go
