package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/evcs/evcs/internal/errs"
)

// DecodeTariff reads an OCPI 2.2.1 Tariff object strictly: unknown fields, wrong JSON types,
// missing required fields and invalid values are errors naming the JSON path
// ("elements[0].restrictions.start_tim: unknown field"). The result is validated.
//
// last_updated is optional here although OCPI requires it: a tariff created through the
// API is stamped by the server.
func DecodeTariff(b []byte) (Tariff, error) {
	v, err := decodeGeneric(b)
	if err != nil {
		return Tariff{}, err
	}
	if err := tariffSchema.walk(v, ""); err != nil {
		return Tariff{}, err
	}
	var t Tariff
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Tariff{}, jsonError(err)
	}
	if err := t.Validate(); err != nil {
		return Tariff{}, err
	}
	return t, nil
}

// DecodeCDR reads an OCPI CDR. Only start_date_time, end_date_time, currency and
// charging_periods are required and checked; every other top-level field is kept as is
// (in input order) for PriceJSON to write back.
func DecodeCDR(b []byte) (CDR, error) {
	v, err := decodeGeneric(b)
	if err != nil {
		return CDR{}, err
	}
	if err := cdrSchema.walk(v, ""); err != nil {
		return CDR{}, err
	}
	raw, err := orderedFields(b)
	if err != nil {
		return CDR{}, err
	}
	var c CDR
	if err := json.Unmarshal(b, &c); err != nil {
		return CDR{}, jsonError(err)
	}
	c.raw = raw
	if err := c.Validate(); err != nil {
		return CDR{}, err
	}
	return c, nil
}

func decodeGeneric(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.E(errs.Invalid, "invalid JSON: data after the top-level value")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errs.E(errs.Invalid, "a JSON object is expected")
	}
	return v, nil
}

// orderedFields splits a JSON object into its fields, keeping their order; a repeated key is
// an error (it would be ambiguous which one was rated).
func orderedFields(b []byte) ([]rawField, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, jsonError(err)
	}
	var out []rawField
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, jsonError(err)
		}
		for _, f := range out {
			if f.key == key {
				return nil, errs.Field(key, "appears more than once")
			}
		}
		out = append(out, rawField{key: key, value: val})
	}
	return out, nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errs.E(errs.Invalid, "invalid JSON at byte %d: %v", se.Offset, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return errs.Field(te.Field, "must be a JSON %s", te.Type)
	}
	var ee *errs.Error
	if errors.As(err, &ee) {
		return ee
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.E(errs.Invalid, "invalid JSON: unexpected end of input")
	}
	return errs.E(errs.Invalid, "invalid JSON: %v", err)
}

// The schema below mirrors the Go types; it lets decoding name the exact JSON path of a
// problem, which encoding/json does not do for unknown fields.

type kind uint8

const (
	kString kind = iota
	kNumber
	kInteger
	kBool
	kDateTime
	kObject
	kArray
)

type node struct {
	kind     kind
	required bool
	obj      *object // kObject
	elem     *node   // kArray
	nonEmpty bool    // kArray: at least one item
}

type member struct {
	name string
	node node
}

type object struct {
	members []member
	open    bool // unknown fields are allowed (CDR top level)
}

func (o *object) lookup(name string) (*node, bool) {
	for i := range o.members {
		if o.members[i].name == name {
			return &o.members[i].node, true
		}
	}
	return nil, false
}

func (o *object) walk(v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return errs.Field(trimDot(path), "must be a JSON object")
	}
	for _, mb := range o.members {
		if x, present := m[mb.name]; mb.node.required && (!present || x == nil) {
			return errs.Field(path+mb.name, "is required")
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n, known := o.lookup(k)
		if !known {
			if o.open {
				continue
			}
			return errs.Field(path+k, "unknown field")
		}
		if err := n.walk(m[k], path+k); err != nil {
			return err
		}
	}
	return nil
}

func trimDot(p string) string {
	if len(p) > 0 && p[len(p)-1] == '.' {
		return p[:len(p)-1]
	}
	return p
}

func (n *node) walk(v any, path string) error {
	if v == nil {
		return nil // null of an optional field: absent
	}
	switch n.kind {
	case kString:
		if _, ok := v.(string); !ok {
			return errs.Field(path, "must be a string")
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			return errs.Field(path, "must be true or false")
		}
	case kNumber:
		num, ok := v.(json.Number)
		if !ok {
			return errs.Field(path, "must be a number")
		}
		if _, err := parseExactDecimal(string(num)); err != nil {
			return errs.Field(path, "%s", errs.Message(err))
		}
	case kInteger:
		num, ok := v.(json.Number)
		if !ok {
			return errs.Field(path, "must be an integer")
		}
		if _, err := strconv.ParseInt(string(num), 10, 64); err != nil {
			return errs.Field(path, "must be an integer, got %s", num)
		}
	case kDateTime:
		s, ok := v.(string)
		if !ok {
			return errs.Field(path, "must be an RFC 3339 date-time string")
		}
		if _, err := parseDateTime(s); err != nil {
			return errs.Field(path, "%q is not an RFC 3339 date-time", s)
		}
	case kObject:
		return n.obj.walk(v, path+".")
	case kArray:
		a, ok := v.([]any)
		if !ok {
			return errs.Field(path, "must be a JSON array")
		}
		if n.nonEmpty && len(a) == 0 {
			return errs.Field(path, "must not be empty")
		}
		for i, x := range a {
			p := fmt.Sprintf("%s[%d]", path, i)
			if x == nil {
				return errs.Field(p, "must not be null")
			}
			if err := n.elem.walk(x, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func req(k kind) node { return node{kind: k, required: true} }
func opt(k kind) node { return node{kind: k} }
func objOf(required bool, o *object) node {
	return node{kind: kObject, required: required, obj: o}
}
func arrOf(required, nonEmpty bool, elem node) node {
	return node{kind: kArray, required: required, nonEmpty: nonEmpty, elem: &elem}
}

var priceSchema = &object{members: []member{
	{"excl_vat", req(kNumber)},
	{"incl_vat", opt(kNumber)},
}}

var tariffSchema = &object{members: []member{
	{"country_code", req(kString)},
	{"party_id", req(kString)},
	{"id", req(kString)},
	{"currency", req(kString)},
	{"type", opt(kString)},
	{"tariff_alt_text", arrOf(false, false, objOf(true, &object{members: []member{
		{"language", req(kString)},
		{"text", req(kString)},
	}}))},
	{"tariff_alt_url", opt(kString)},
	{"min_price", objOf(false, priceSchema)},
	{"max_price", objOf(false, priceSchema)},
	{"elements", arrOf(true, true, objOf(true, &object{members: []member{
		{"price_components", arrOf(true, true, objOf(true, &object{members: []member{
			{"type", req(kString)},
			{"price", req(kNumber)},
			{"vat", opt(kNumber)},
			{"step_size", req(kInteger)},
		}}))},
		{"restrictions", objOf(false, &object{members: []member{
			{"start_time", opt(kString)},
			{"end_time", opt(kString)},
			{"start_date", opt(kString)},
			{"end_date", opt(kString)},
			{"min_kwh", opt(kNumber)},
			{"max_kwh", opt(kNumber)},
			{"min_current", opt(kNumber)},
			{"max_current", opt(kNumber)},
			{"min_power", opt(kNumber)},
			{"max_power", opt(kNumber)},
			{"min_duration", opt(kInteger)},
			{"max_duration", opt(kInteger)},
			{"day_of_week", arrOf(false, false, req(kString))},
			{"reservation", opt(kString)},
		}})},
	}}))},
	{"start_date_time", opt(kDateTime)},
	{"end_date_time", opt(kDateTime)},
	{"energy_mix", objOf(false, &object{members: []member{
		{"is_green_energy", req(kBool)},
		{"energy_sources", arrOf(false, false, objOf(true, &object{members: []member{
			{"source", req(kString)},
			{"percentage", req(kNumber)},
		}}))},
		{"environ_impact", arrOf(false, false, objOf(true, &object{members: []member{
			{"category", req(kString)},
			{"amount", req(kNumber)},
		}}))},
		{"supplier_name", opt(kString)},
		{"energy_product_name", opt(kString)},
	}})},
	{"last_updated", opt(kDateTime)},
}}

// cdrSchema checks only what rating reads; the rest of a CDR passes through untouched.
var cdrSchema = &object{open: true, members: []member{
	{"start_date_time", req(kDateTime)},
	{"end_date_time", req(kDateTime)},
	{"currency", req(kString)},
	{"charging_periods", arrOf(true, true, objOf(true, &object{open: true, members: []member{
		{"start_date_time", req(kDateTime)},
		{"dimensions", arrOf(true, true, objOf(true, &object{open: true, members: []member{
			{"type", req(kString)},
			{"volume", req(kNumber)},
		}}))},
		{"tariff_id", opt(kString)},
	}}))},
}}
