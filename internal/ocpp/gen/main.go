// Command gen turns one file of official OCPP JSON schemas (a JSON array of draft-06/07
// message schemas) into a Go package: a type per request and response, named types for nested
// objects and string enums, a compact schema tree (internal/ocpp/schema) per message, and the
// DecodeRequest / DecodeResponse / ValidateRequest / ValidateResponse / Actions API.
//
// Usage (from a version package, through go:generate):
//
//	go run ../gen -in ../../../../shared/ocpp-schemas/ocpp1_6.json -pkg v16 -version V16 -out messages_gen.go
//
// The output is deterministic: messages and types are emitted in sorted order and the file is
// gofmt'd, so regenerating yields identical bytes. Schema "description" texts are not copied
// (licence). Type choices:
//   - integer → int, number → float64, boolean → bool, no type → json.RawMessage;
//   - date-time and uri stay string (validated by the schema runtime, parse where needed);
//   - required properties are values without omitempty; optional objects and numbers/booleans
//     are pointers with omitempty, optional strings, enums and arrays use omitempty (an empty
//     string is never a valid enum or date-time, and optional arrays have minItems >= 1 in 2.x).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	in := flag.String("in", "", "schema file (JSON array of message schemas)")
	pkg := flag.String("pkg", "", "Go package name")
	version := flag.String("version", "", "ocppj version constant: V16, V201 or V21")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if *in == "" || *pkg == "" || *out == "" || *version == "" {
		flag.Usage()
		os.Exit(2)
	}
	src, err := Generate(*in, *pkg, *version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Generate reads the schema file and returns the formatted Go source.
func Generate(path, pkg, version string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	root, err := parseOrdered(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if root.kind != 'a' {
		return nil, fmt.Errorf("%s: not a JSON array", path)
	}
	m := newModel()
	for _, s := range root.arr {
		if err := m.addMessage(s); err != nil {
			return nil, err
		}
	}
	if err := m.resolveNames(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := m.emit(&buf, filepath.Base(path), pkg, version); err != nil {
		return nil, err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return buf.Bytes(), fmt.Errorf("gofmt generated code: %w", err)
	}
	return src, nil
}

// message is one action with its request and response roots.
type message struct {
	action    string
	req, resp *tnode
}

type model struct {
	messages map[string]*message
	defs     map[string]*tnode // definition name → node (shared across message schemas)
	inline   map[string]*tnode // structural key → canonical inline named node
	order    []*tnode          // canonical named nodes in discovery order
}

func newModel() *model {
	return &model{messages: map[string]*message{}, defs: map[string]*tnode{}, inline: map[string]*tnode{}}
}

// tnode is a schema node reduced to what we generate and validate.
type tnode struct {
	kind      string // object, array, string, integer, number, boolean, any
	props     []*tprop
	open      bool
	items     *tnode
	minItems  int
	maxItems  int
	maxLength int
	enum      []string
	format    string
	min, max  string // JSON number text, "" when absent
	multiple  string

	// Naming, for objects and enums.
	name    string // final Go type name
	fixed   bool   // name comes from the message or a definition
	base    string // candidate name for inline types
	parent  *tnode // enclosing named type, for qualifying colliding inline names
	key     string // structural key
	message bool   // a message root
}

type tprop struct {
	name     string
	node     *tnode
	required bool
}

func (n *tnode) isEnum() bool  { return n.kind == "string" && len(n.enum) > 0 }
func (n *tnode) isNamed() bool { return n.kind == "object" || n.isEnum() }

func (m *model) addMessage(s *jv) error {
	id := s.get("$id").str()
	if !strings.HasPrefix(id, "urn:") {
		return fmt.Errorf("schema without urn $id: %q", id)
	}
	id = strings.TrimPrefix(id, "urn:")
	var action string
	var isReq bool
	switch {
	case strings.HasSuffix(id, ".req"):
		action, isReq = strings.TrimSuffix(id, ".req"), true
	case strings.HasSuffix(id, ".conf"):
		action = strings.TrimSuffix(id, ".conf")
	case strings.HasSuffix(id, "Request"):
		action, isReq = strings.TrimSuffix(id, "Request"), true
	case strings.HasSuffix(id, "Response"):
		action = strings.TrimSuffix(id, "Response")
	default:
		// 2.1 SEND messages (NotifyPeriodicEventStream) have one schema and no response.
		action, isReq = id, true
	}
	msg := m.messages[action]
	if msg == nil {
		msg = &message{action: action}
		m.messages[action] = msg
	}
	name := action + "Response"
	if isReq {
		name = action + "Request"
	}
	c := &conv{m: m, schema: s, id: id}
	n, err := c.node(s, nil, "", true)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if n.kind != "object" {
		return fmt.Errorf("%s: root is %s, not object", id, n.kind)
	}
	n.name, n.fixed, n.message = name, true, true
	if isReq {
		msg.req = n
	} else {
		msg.resp = n
	}
	return nil
}

type conv struct {
	m      *model
	schema *jv
	id     string
	stack  []string // definitions being converted, to detect cycles
}

// node converts schema node s. parent is the enclosing named node, prop the property name
// leading here (used to name inline types).
func (c *conv) node(s *jv, parent *tnode, prop string, root bool) (*tnode, error) {
	if s.kind != 'o' {
		return nil, fmt.Errorf("schema node is not an object")
	}
	if ref := s.get("$ref"); ref != nil {
		name, ok := strings.CutPrefix(ref.str(), "#/definitions/")
		if !ok {
			return nil, fmt.Errorf("unsupported $ref %q", ref.str())
		}
		return c.def(name)
	}
	n := &tnode{}
	for i, k := range s.keys {
		v := s.vals[i]
		switch k {
		case "$id", "$schema", "description", "javaType", "comment", "definitions", "default",
			"additionalItems", "type", "properties", "required", "items", "additionalProperties":
			// handled below or irrelevant
		case "enum":
			for _, e := range v.arr {
				n.enum = append(n.enum, e.str())
			}
		case "maxLength":
			n.maxLength = v.int()
		case "minItems":
			n.minItems = v.int()
		case "maxItems":
			n.maxItems = v.int()
		case "minimum":
			n.min = v.s
		case "maximum":
			n.max = v.s
		case "multipleOf":
			n.multiple = v.s
		case "format":
			n.format = v.str()
		default:
			return nil, fmt.Errorf("unsupported schema keyword %q", k)
		}
	}
	t := s.get("type")
	switch {
	case t == nil:
		n.kind = "any"
	case t.kind == 's':
		n.kind = t.s
	default:
		return nil, fmt.Errorf("unsupported type %v", t)
	}
	switch n.kind {
	case "object":
		if ap := s.get("additionalProperties"); ap == nil || ap.kind != 'b' || ap.b {
			n.open = true
		}
		required := map[string]bool{}
		if r := s.get("required"); r != nil {
			for _, e := range r.arr {
				required[e.str()] = true
			}
		}
		if !root {
			n.base, n.parent = export(prop), parent
		}
		if p := s.get("properties"); p != nil {
			for i, k := range p.keys {
				child, err := c.node(p.vals[i], n, k, false)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				n.props = append(n.props, &tprop{name: k, node: child, required: required[k]})
				delete(required, k)
			}
		}
		if len(required) > 0 {
			return nil, fmt.Errorf("required properties not declared: %v", sortedKeys(required))
		}
	case "array":
		items := s.get("items")
		if items == nil {
			n.items = &tnode{kind: "any"}
		} else {
			it, err := c.node(items, parent, prop, false)
			if err != nil {
				return nil, fmt.Errorf("items: %w", err)
			}
			n.items = it
		}
	case "string":
		if len(n.enum) > 0 {
			n.base, n.parent = export(prop), parent
		}
	case "integer", "number", "boolean", "any":
	default:
		return nil, fmt.Errorf("unsupported type %q", n.kind)
	}
	n.key = structKey(n)
	if n.isNamed() && !root {
		return c.m.canonical(n), nil
	}
	return n, nil
}

// canonical dedupes inline named types: objects by structure, enums by structure within the
// same enclosing type (so that each message keeps its own enum unless the object holding it is
// shared).
func (m *model) canonical(n *tnode) *tnode {
	key := n.key
	if n.isEnum() {
		key = fmt.Sprintf("%p/%s/%s", n.parent, n.base, n.key)
	}
	if c, ok := m.inline[key]; ok {
		return c
	}
	m.inline[key] = n
	m.order = append(m.order, n)
	return n
}

func (c *conv) def(name string) (*tnode, error) {
	for _, s := range c.stack {
		if s == name {
			return nil, fmt.Errorf("recursive definition %s", name)
		}
	}
	defs := c.schema.get("definitions")
	var s *jv
	if defs != nil {
		s = defs.get(name)
	}
	if s == nil {
		return nil, fmt.Errorf("undefined $ref %s", name)
	}
	c.stack = append(c.stack, name)
	n, err := c.node(s, nil, name, true)
	c.stack = c.stack[:len(c.stack)-1]
	if err != nil {
		return nil, fmt.Errorf("definition %s: %w", name, err)
	}
	if !n.isNamed() {
		return n, nil // a primitive definition is inlined
	}
	n.name, n.fixed = name, true
	if prev, ok := c.m.defs[name]; ok {
		if prev.key != n.key {
			return nil, fmt.Errorf("definition %s differs between message schemas", name)
		}
		return prev, nil
	}
	c.m.defs[name] = n
	c.m.order = append(c.m.order, n)
	return n, nil
}

// structKey describes a node's structure, names of nested named types excluded.
func structKey(n *tnode) string {
	var b strings.Builder
	b.WriteString(n.kind)
	switch n.kind {
	case "object":
		fmt.Fprintf(&b, "{open=%v", n.open)
		for _, p := range n.props {
			fmt.Fprintf(&b, ";%q:%v:%s", p.name, p.required, p.node.key)
		}
		b.WriteString("}")
	case "array":
		fmt.Fprintf(&b, "[%d,%d,%s]", n.minItems, n.maxItems, n.items.key)
	default:
		fmt.Fprintf(&b, "(%d,%q,%q,%s,%s,%s)", n.maxLength, n.enum, n.format, n.min, n.max, n.multiple)
	}
	return b.String()
}

// resolveNames gives every inline named type a unique name: its property name when that is
// unambiguous, else the enclosing type's name followed by it.
func (m *model) resolveNames() error {
	taken := map[string]bool{}
	for _, msg := range m.messages {
		for _, n := range []*tnode{msg.req, msg.resp} {
			if n != nil {
				taken[n.name] = true
			}
		}
	}
	for name := range m.defs {
		taken[name] = true
	}
	m.order = m.reachable()
	groups := map[string][]*tnode{}
	for _, n := range m.order {
		if !n.fixed {
			groups[n.base] = append(groups[n.base], n)
		}
	}
	var resolve func(n *tnode) string
	resolve = func(n *tnode) string {
		if n.name != "" {
			return n.name
		}
		if len(groups[n.base]) == 1 && !taken[n.base] {
			n.name = n.base
		} else {
			n.name = resolve(n.parent) + n.base
		}
		return n.name
	}
	seen := map[string]*tnode{}
	for _, n := range m.order {
		name := resolve(n)
		if prev, ok := seen[name]; ok && prev != n {
			return fmt.Errorf("type name %s is ambiguous", name)
		}
		seen[name] = n
	}
	for _, msg := range m.messages {
		for _, n := range []*tnode{msg.req, msg.resp} {
			if n == nil {
				continue
			}
			if _, ok := seen[n.name]; ok {
				return fmt.Errorf("type name %s used twice", n.name)
			}
			seen[n.name] = n
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// export turns a schema property name into an exported Go identifier with Go's initialisms for
// Id, Url and Uri ("idTag" → "IDTag", "evseId" → "EvseID").
func export(s string) string {
	var parts []string
	word := []rune{}
	flush := func() {
		if len(word) > 0 {
			parts = append(parts, string(word))
			word = word[:0]
		}
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			flush()
			word = append(word, r)
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			word = append(word, r)
		default:
			flush()
		}
	}
	flush()
	var b strings.Builder
	for _, p := range parts {
		switch strings.ToLower(p) {
		case "id":
			b.WriteString("ID")
		case "url":
			b.WriteString("URL")
		case "uri":
			b.WriteString("URI")
		default:
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	if b.Len() == 0 {
		return "X"
	}
	out := b.String()
	if out[0] >= '0' && out[0] <= '9' {
		out = "X" + out
	}
	return out
}

// enumConst is the constant name of enum value v of type typ: the type name without its
// "EnumType" suffix, then the value's alphanumeric words ("L1-N" → "L1N").
func enumConst(typ, v string) string {
	prefix := strings.TrimSuffix(typ, "EnumType")
	var b strings.Builder
	up := true
	for _, r := range v {
		if !((r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return prefix + "Empty"
	}
	return prefix + b.String()
}
