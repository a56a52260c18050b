// Package schema validates OCPP JSON payloads against a compact schema tree that the generator
// (internal/ocpp/gen) emits as Go literals. Validation is one pass over the raw bytes with a
// hand-written scanner: no reflection and, on valid input, no allocations. The typed decoding
// that follows uses encoding/json.
//
// Failures map to OCPP-J error kinds (1.6 JSON §4.2.3, 2.0.1 Part 4 §4.3):
//
//	payload not well-formed JSON, or not an object      → FormationViolation (2.x FormatViolation)
//	wrong JSON type (null included), non-integral integer → TypeConstraintViolation
//	required property missing                             → OccurrenceConstraintViolation
//	enum, maxLength, minimum/maximum, multipleOf, minItems/maxItems, date-time or uri format,
//	property not allowed (additionalProperties: false)    → PropertyConstraintViolation
//
// When a payload has several problems, a syntax error anywhere wins (the payload is then not
// JSON at all); otherwise the first schema violation in document order is reported.
package schema

import (
	"encoding/json"
	"strconv"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

// Type is the JSON type a Node accepts.
type Type uint8

const (
	Any Type = iota // no type constraint (e.g. DataTransfer data in 2.x)
	Object
	Array
	String
	Integer
	Number
	Boolean
)

var typeNames = [...]string{Any: "any", Object: "object", Array: "array", String: "string", Integer: "integer", Number: "number", Boolean: "boolean"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Format is a string format constraint.
type Format uint8

const (
	NoFormat Format = iota
	DateTime        // RFC 3339, checked loosely (see ValidDateTime)
	URI             // an absolute URI: scheme ":" rest
)

// Node is one schema. Only the fields of its Type matter.
type Node struct {
	Type Type

	// Object: properties in schema order; Open when additionalProperties is not false.
	Props []Prop
	Open  bool

	// Array: MaxItems 0 means unbounded.
	Items    *Node
	MinItems int
	MaxItems int

	// String: MaxLength 0 means unbounded; counted in Unicode code points.
	MaxLength int
	Enum      []string
	Format    Format

	// Integer and Number.
	Min, Max       float64
	HasMin, HasMax bool
	MultipleOf     float64 // 0: none
}

// Prop is a property of an object Node.
type Prop struct {
	Name     string
	Node     *Node
	Required bool
}

// Validate checks data against n.
func Validate(n *Node, data []byte) *ocppj.Error {
	v := validator{b: data}
	i := skipWS(data, 0)
	if n.Type == Object && (i >= len(data) || data[i] != '{') {
		if _, ok := v.skip(i, 0); !ok || skipWS(data, v.i) != len(data) {
			return ocppj.Errorf(ocppj.FormationViolation, "payload is not valid JSON")
		}
		return ocppj.Errorf(ocppj.FormationViolation, "payload is not a JSON object")
	}
	v.i = i
	if !v.value(n, 0) {
		return v.syntaxError()
	}
	if skipWS(data, v.i) != len(data) {
		v.i = skipWS(data, v.i)
		return v.syntaxError()
	}
	if v.err != nil {
		return v.err
	}
	return nil
}

// Decode validates data against n and then unmarshals it into dst (a pointer to the generated
// type). A decoding failure after a successful validation (which the generated types are built
// to avoid) is reported as a TypeConstraintViolation.
func Decode(n *Node, data []byte, dst any) *ocppj.Error {
	if err := Validate(n, data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return ocppj.Errorf(ocppj.TypeConstraintViolation, "%v", err)
	}
	return nil
}
