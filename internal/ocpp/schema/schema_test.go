package schema

import (
	"strings"
	"testing"

	"github.com/evcs/evcs/internal/ocpp/ocppj"
)

func TestValidDateTime(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"2024-05-01T10:00:00Z", true},
		{"2024-05-01T10:00:00.123456789Z", true},
		{"2024-05-01t10:00:00z", true},
		{"2024-05-01 10:00:00+02:00", true},
		{"2024-05-01T10:00:00-05:30", true},
		{"2024-05-01T10:00:00", true}, // no offset: accepted on purpose
		{"2016-12-31T23:59:60Z", true},
		{"2024-05-01", false},
		{"2024-05-01T10:00Z", false},
		{"2024-13-01T10:00:00Z", false},
		{"2024-05-00T10:00:00Z", false},
		{"2024-05-01T24:00:00Z", false},
		{"2024-05-01T10:00:00.Z", false},
		{"2024-05-01T10:00:00+0200", false},
		{"2024-05-01T10:00:00ZZ", false},
		{"yesterday at noon please", false},
	} {
		if got := ValidDateTime([]byte(tt.s)); got != tt.ok {
			t.Errorf("ValidDateTime(%q) = %v", tt.s, got)
		}
	}
}

func TestValidate(t *testing.T) {
	inner := &Node{Type: Object, Props: []Prop{{Name: "n", Node: &Node{Type: Integer, Min: 1, HasMin: true, Max: 5, HasMax: true}, Required: true}}}
	root := &Node{Type: Object, Props: []Prop{
		{Name: "s", Node: &Node{Type: String, MaxLength: 3}},
		{Name: "e", Node: &Node{Type: String, Enum: []string{"A", "B\"C"}}},
		{Name: "a", Node: &Node{Type: Array, Items: inner, MinItems: 1, MaxItems: 2}},
		{Name: "f", Node: &Node{Type: Number, MultipleOf: 0.1}},
		{Name: "b", Node: &Node{Type: Boolean}},
		{Name: "x", Node: &Node{Type: Any}},
		{Name: "o", Node: &Node{Type: Object, Open: true}},
		{Name: "u", Node: &Node{Type: String, Format: URI}},
	}}
	tests := []struct {
		json string
		kind ocppj.ErrorKind
		ok   bool
		path string
	}{
		{`{}`, 0, true, ""},
		{`{"s":"abc","e":"B\"C","a":[{"n":1},{"n":5}],"f":0.3,"b":false,"x":[null],"o":{"k":{}},"u":"urn:x"}`, 0, true, ""},
		{`{"s":"\u0061\u0062\u0063"}`, 0, true, ""},
		{`{"s":"abcd"}`, ocppj.PropertyConstraintViolation, false, "s"},
		{`{"e":"C"}`, ocppj.PropertyConstraintViolation, false, "e"},
		{`{"a":[]}`, ocppj.PropertyConstraintViolation, false, "a"},
		{`{"a":[{"n":1},{"n":1},{"n":1}]}`, ocppj.PropertyConstraintViolation, false, "a"},
		{`{"a":[{"n":1},{"n":6}]}`, ocppj.PropertyConstraintViolation, false, "a[1].n"},
		{`{"a":[{"n":0}]}`, ocppj.PropertyConstraintViolation, false, "a[0].n"},
		{`{"a":[{}]}`, ocppj.OccurrenceConstraintViolation, false, "a[0]"},
		{`{"a":[{"n":"1"}]}`, ocppj.TypeConstraintViolation, false, "a[0].n"},
		{`{"a":[{"n":1e0}]}`, ocppj.TypeConstraintViolation, false, "a[0].n"},
		{`{"f":0.25}`, ocppj.PropertyConstraintViolation, false, "f"},
		{`{"f":1e999}`, ocppj.TypeConstraintViolation, false, "f"},
		{`{"b":"true"}`, ocppj.TypeConstraintViolation, false, "b"},
		{`{"b":nul}`, ocppj.FormationViolation, false, ""},
		{`{"zz":1}`, ocppj.PropertyConstraintViolation, false, "zz"},
		{`{"s":"a\x01"}`, ocppj.FormationViolation, false, ""},
		{`{"s":"\x"}`, ocppj.FormationViolation, false, ""},
		{`{"s" "a"}`, ocppj.FormationViolation, false, ""},
		{`{"s":"a",}`, ocppj.FormationViolation, false, ""},
		{`{"f":01}`, ocppj.FormationViolation, false, ""},
		{`{"u":"no scheme"}`, ocppj.PropertyConstraintViolation, false, "u"},
		{`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, ocppj.FormationViolation, false, ""},
		{``, ocppj.FormationViolation, false, ""},
		{`null`, ocppj.FormationViolation, false, ""},
	}
	for _, tt := range tests {
		err := Validate(root, []byte(tt.json))
		if tt.ok {
			if err != nil {
				t.Errorf("Validate(%s) = %v", tt.json, err)
			}
			continue
		}
		if err == nil || err.Kind != tt.kind {
			t.Errorf("Validate(%s) = %v, want kind %v", tt.json, err, tt.kind)
			continue
		}
		if tt.path != "" && !strings.HasPrefix(err.Msg, tt.path+": ") {
			t.Errorf("Validate(%s) message %q does not start with path %q", tt.json, err.Msg, tt.path)
		}
	}
}

func TestValidateAllocs(t *testing.T) {
	root := &Node{Type: Object, Props: []Prop{
		{Name: "s", Node: &Node{Type: String, MaxLength: 30, Format: DateTime}, Required: true},
		{Name: "n", Node: &Node{Type: Number, Min: 0, HasMin: true}},
		{Name: "i", Node: &Node{Type: Integer}},
		{Name: "e", Node: &Node{Type: String, Enum: []string{"A", "B"}}},
	}}
	data := []byte(`{"s":"2024-05-01T10:00:00Z","n":12.5,"i":7,"e":"B"}`)
	if n := testing.AllocsPerRun(100, func() {
		if err := Validate(root, data); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Validate allocates %v times per valid payload", n)
	}
}
