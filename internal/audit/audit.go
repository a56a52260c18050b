// Package audit records who changed what: every create, update and deactivate of master data.
package audit

import (
	"encoding/json"
	"time"
)

// Event is one change.
type Event struct {
	ID       string          `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"` // user id, "system" or "station:<id>"
	Action   string          `json:"action"`
	Entity   string          `json:"entity"`
	EntityID string          `json:"entity_id"`
	Changes  json.RawMessage `json:"changes,omitempty" doc:"fields changed: {field: [old, new]}" `
}

// Diff returns {field: [old, new]} for the top-level JSON fields that differ between before and after.
func Diff(before, after any) json.RawMessage {
	var a, b map[string]json.RawMessage
	if before != nil {
		raw, _ := json.Marshal(before)
		_ = json.Unmarshal(raw, &a)
	}
	raw, _ := json.Marshal(after)
	_ = json.Unmarshal(raw, &b)
	out := map[string][2]json.RawMessage{}
	null := json.RawMessage("null")
	for k, v := range b {
		if k == "updated_at" || k == "created_at" {
			continue
		}
		old, ok := a[k]
		if !ok {
			old = null
		}
		if string(old) != string(v) {
			out[k] = [2]json.RawMessage{old, v}
		}
	}
	for k, v := range a {
		if _, ok := b[k]; !ok {
			out[k] = [2]json.RawMessage{v, null}
		}
	}
	res, _ := json.Marshal(out)
	return res
}
