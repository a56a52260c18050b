package schema

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

const maxDepth = 64

// seg is one step of the path to the value being validated: an object key (raw bytes of the
// input, possibly escaped) or an array index.
type seg struct {
	key []byte
	idx int
}

type validator struct {
	b     []byte
	i     int
	err   *ocppj.Error      // first schema violation
	path  [maxDepth + 1]seg // fixed, so that the validator stays on the stack
	depth int
}

func (v *validator) syntaxError() *ocppj.Error {
	return ocppj.Errorf(ocppj.FormationViolation, "payload is not valid JSON (offset %d)", v.i)
}

// fail records the first schema violation with the current path.
func (v *validator) fail(k ocppj.ErrorKind, msg string) {
	if v.err != nil {
		return
	}
	var sb strings.Builder
	for _, s := range v.path[:v.depth] {
		if s.key != nil {
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.Write(s.key)
		} else {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(s.idx))
			sb.WriteByte(']')
		}
	}
	if sb.Len() == 0 {
		v.err = &ocppj.Error{Kind: k, Msg: msg}
		return
	}
	v.err = &ocppj.Error{Kind: k, Msg: sb.String() + ": " + msg}
}

// value validates the value at v.i against n and advances past it. It returns false on a
// syntax error.
func (v *validator) value(n *Node, depth int) bool {
	b := v.b
	if v.i >= len(b) {
		return false
	}
	c := b[v.i]
	switch n.Type {
	case Object:
		if c == '{' {
			return v.object(n, depth)
		}
	case Array:
		if c == '[' {
			return v.array(n, depth)
		}
	case String:
		if c == '"' {
			return v.str(n)
		}
	case Integer:
		if c == '-' || (c >= '0' && c <= '9') {
			return v.integer(n)
		}
	case Number:
		if c == '-' || (c >= '0' && c <= '9') {
			return v.number(n)
		}
	case Boolean:
		if c == 't' || c == 'f' {
			end, ok := v.skip(v.i, depth)
			v.i = end
			return ok
		}
	case Any:
		end, ok := v.skip(v.i, depth)
		v.i = end
		return ok
	}
	end, ok := v.skip(v.i, depth)
	if ok {
		v.fail(ocppj.TypeConstraintViolation, "expected "+n.Type.String()+", got "+jsonType(c))
	}
	v.i = end
	return ok
}

func jsonType(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return "number"
}

func (v *validator) object(n *Node, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	b := v.b
	var seen uint64
	var seenMore []bool // objects with more than 64 properties (none in OCPP, but be safe)
	if len(n.Props) > 64 {
		seenMore = make([]bool, len(n.Props))
	}
	i := skipWS(b, v.i+1)
	if i < len(b) && b[i] == '}' {
		v.i = i + 1
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				v.i = i
				return false
			}
			ks := i
			end, escaped, ok := scanString(b, i)
			if !ok {
				v.i = end
				return false
			}
			key := b[i+1 : end-1]
			i = skipWS(b, end)
			if i >= len(b) || b[i] != ':' {
				v.i = i
				return false
			}
			v.i = skipWS(b, i+1)
			idx := -1
			if escaped {
				idx = findProp(n.Props, unquote(b[ks:end]))
			} else {
				idx = findPropBytes(n.Props, key)
			}
			v.path[v.depth] = seg{key: key}
			v.depth++
			if idx >= 0 {
				if idx < 64 {
					seen |= 1 << uint(idx)
				} else {
					seenMore[idx] = true
				}
				if !v.value(n.Props[idx].Node, depth+1) {
					return false
				}
			} else {
				if !n.Open {
					v.fail(ocppj.PropertyConstraintViolation, "property not allowed")
				}
				end, ok := v.skip(v.i, depth+1)
				v.i = end
				if !ok {
					return false
				}
			}
			v.depth--
			i = skipWS(b, v.i)
			if i >= len(b) {
				v.i = i
				return false
			}
			if b[i] == '}' {
				v.i = i + 1
				break
			}
			if b[i] != ',' {
				v.i = i
				return false
			}
			i = skipWS(b, i+1)
		}
	}
	if v.err == nil {
		for j := range n.Props {
			p := &n.Props[j]
			if !p.Required {
				continue
			}
			if (j < 64 && seen&(1<<uint(j)) == 0) || (j >= 64 && !seenMore[j]) {
				v.fail(ocppj.OccurrenceConstraintViolation, "required property "+strconv.Quote(p.Name)+" is missing")
				break
			}
		}
	}
	return true
}

func findPropBytes(props []Prop, key []byte) int {
	for j := range props {
		if props[j].Name == string(key) {
			return j
		}
	}
	return -1
}

func findProp(props []Prop, key string) int {
	for j := range props {
		if props[j].Name == key {
			return j
		}
	}
	return -1
}

func unquote(q []byte) string {
	var s string
	if json.Unmarshal(q, &s) != nil {
		return ""
	}
	return s
}

func (v *validator) array(n *Node, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	b := v.b
	count := 0
	i := skipWS(b, v.i+1)
	if i < len(b) && b[i] == ']' {
		v.i = i + 1
	} else {
		v.path[v.depth] = seg{}
		v.depth++
		for {
			v.path[v.depth-1].idx = count
			v.i = i
			items := n.Items
			if items == nil {
				items = &anyNode
			}
			if !v.value(items, depth+1) {
				return false
			}
			count++
			i = skipWS(b, v.i)
			if i >= len(b) {
				v.i = i
				return false
			}
			if b[i] == ']' {
				v.i = i + 1
				break
			}
			if b[i] != ',' {
				v.i = i
				return false
			}
			i = skipWS(b, i+1)
		}
		v.depth--
	}
	if count < n.MinItems {
		v.fail(ocppj.PropertyConstraintViolation, "array has "+strconv.Itoa(count)+" items, minItems is "+strconv.Itoa(n.MinItems))
	} else if n.MaxItems > 0 && count > n.MaxItems {
		v.fail(ocppj.PropertyConstraintViolation, "array has "+strconv.Itoa(count)+" items, maxItems is "+strconv.Itoa(n.MaxItems))
	}
	return true
}

var anyNode = Node{Type: Any}

func (v *validator) str(n *Node) bool {
	start := v.i
	end, escaped, ok := scanString(v.b, start)
	v.i = end
	if !ok {
		return false
	}
	if n.MaxLength == 0 && len(n.Enum) == 0 && n.Format == NoFormat {
		return true
	}
	raw := v.b[start+1 : end-1]
	var s string
	if escaped {
		s = unquote(v.b[start:end])
		raw = nil
	}
	if n.MaxLength > 0 {
		var l int
		if escaped {
			l = utf8.RuneCountInString(s)
		} else {
			l = utf8.RuneCount(raw)
		}
		if l > n.MaxLength {
			v.fail(ocppj.PropertyConstraintViolation, "string of length "+strconv.Itoa(l)+" exceeds maxLength "+strconv.Itoa(n.MaxLength))
			return true
		}
	}
	if len(n.Enum) > 0 {
		found := false
		for _, e := range n.Enum {
			if (escaped && e == s) || (!escaped && e == string(raw)) {
				found = true
				break
			}
		}
		if !found {
			v.fail(ocppj.PropertyConstraintViolation, "value is not one of the allowed values")
			return true
		}
	}
	switch n.Format {
	case DateTime:
		var ok bool
		if escaped {
			ok = ValidDateTime([]byte(s))
		} else {
			ok = ValidDateTime(raw)
		}
		if !ok {
			v.fail(ocppj.PropertyConstraintViolation, "value is not an RFC 3339 date-time")
		}
	case URI:
		var ok bool
		if escaped {
			ok = validURI([]byte(s))
		} else {
			ok = validURI(raw)
		}
		if !ok {
			v.fail(ocppj.PropertyConstraintViolation, "value is not an absolute URI")
		}
	}
	return true
}

func (v *validator) integer(n *Node) bool {
	start := v.i
	end, ok := scanNumber(v.b, start)
	v.i = end
	if !ok {
		return false
	}
	raw := v.b[start:end]
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			v.fail(ocppj.TypeConstraintViolation, "expected integer, got "+string(raw))
			return true
		}
	}
	x, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		v.fail(ocppj.TypeConstraintViolation, "integer out of range")
		return true
	}
	v.bounds(n, float64(x))
	return true
}

func (v *validator) number(n *Node) bool {
	start := v.i
	end, ok := scanNumber(v.b, start)
	v.i = end
	if !ok {
		return false
	}
	x, err := strconv.ParseFloat(string(v.b[start:end]), 64)
	if err != nil {
		v.fail(ocppj.TypeConstraintViolation, "number out of range")
		return true
	}
	v.bounds(n, x)
	return true
}

func (v *validator) bounds(n *Node, x float64) {
	switch {
	case n.HasMin && x < n.Min:
		v.fail(ocppj.PropertyConstraintViolation, "value "+strconv.FormatFloat(x, 'g', -1, 64)+" is below minimum "+strconv.FormatFloat(n.Min, 'g', -1, 64))
	case n.HasMax && x > n.Max:
		v.fail(ocppj.PropertyConstraintViolation, "value "+strconv.FormatFloat(x, 'g', -1, 64)+" is above maximum "+strconv.FormatFloat(n.Max, 'g', -1, 64))
	case n.MultipleOf > 0:
		// Decimal multiples (0.1) are not exact in binary: allow a relative tolerance.
		q := x / n.MultipleOf
		if math.Abs(q-math.Round(q)) > 1e-9*math.Max(1, math.Abs(q)) {
			v.fail(ocppj.PropertyConstraintViolation, "value is not a multiple of "+strconv.FormatFloat(n.MultipleOf, 'g', -1, 64))
		}
	}
}

// skip validates the syntax of the value at i and returns the index past it.
func (v *validator) skip(i, depth int) (int, bool) {
	b := v.b
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return i, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, _, ok = scanString(b, i); !ok {
					return i, false
				}
				i = skipWS(b, i)
				if i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = skipWS(b, i+1)
			}
			if i, ok = v.skip(i, depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == closer {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return lit(b, i, "true")
	case c == 'f':
		return lit(b, i, "false")
	case c == 'n':
		return lit(b, i, "null")
	}
	return i, false
}

func lit(b []byte, i int, s string) (int, bool) {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s), true
	}
	return i, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString validates the string whose opening quote is b[i]; it returns the index past the
// closing quote and whether it contains escapes.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return i, escaped, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					return i, escaped, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, escaped, false
					}
				}
				i += 5
			default:
				return i, escaped, false
			}
		case c < 0x20:
			return i, escaped, false
		default:
			i++
		}
	}
	return i, escaped, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return i, false
		}
	}
	return i, true
}
