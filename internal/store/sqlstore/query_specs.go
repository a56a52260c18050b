package sqlstore

// What each list offers beyond exact filters (see listSpec). Every sort field has an index on
// (column, id) or a column whose rows per value are few, so a sorted page is an index range
// (migration 00013). Volatile columns (a running session's energy, updated_at) are not sorts:
// an index on them would be rewritten at every meter value.

var (
	createdAt = field{name: "created_at", col: "created_at"}
	updatedAt = field{name: "updated_at", col: "updated_at"}
)

// listSpecs by table name; a table not listed gets defaultSpec.
var listSpecs = map[string]*listSpec{
	"sites":            {times: []field{createdAt}, sorts: []field{createdAt, {name: "name", col: "name", text: true}}},
	"stations":         {times: []field{createdAt}, sorts: []field{createdAt}},
	"batteries":        {times: []field{createdAt}, sorts: []field{createdAt, {name: "serial", col: "serial", text: true}}},
	"users":            {times: []field{createdAt}, sorts: []field{createdAt, {name: "name", col: "name", text: true}, {name: "email", col: "email", text: true}}},
	"accounts":         {times: []field{createdAt}, sorts: []field{createdAt}},
	"id_tokens":        {times: []field{createdAt}, sorts: []field{createdAt, {name: "uid", col: "uid", text: true}}},
	"vehicles":         {times: []field{createdAt}, sorts: []field{createdAt, {name: "plate", col: "plate", text: true}}},
	"purchaser_groups": {times: []field{createdAt}, sorts: []field{createdAt, {name: "name", col: "name", text: true}}},
	"audit_events":     {times: []field{{name: "at", col: "created_at"}}, sorts: []field{{name: "at", col: "created_at"}}},

	"sessions": {
		times: []field{{name: "started_at", col: "created_at"}, {name: "stopped_at", col: "stopped_at"}},
		sorts: []field{{name: "started_at", col: "created_at"}, {name: "stopped_at", col: "stopped_at"}, {name: "cost", col: "cost_milli"}},
		// cost_milli is -1 until the session is rated.
		amount: &amountCols{col: "cost_milli", milli: true, unset: true},
		virtual: map[string]string{
			"site_id": "station_id IN (SELECT id FROM stations WHERE site_id = ?)",
			"evse_id": "(station_id, evse_no) IN (SELECT station_id, evse_no FROM evses WHERE id = ?)",
			"user_id": "account_id IN (SELECT id FROM accounts WHERE user_id = ?)",
		},
		internal: []string{"cost_milli", "stopped_at"},
		sparse:   map[string]string{"vehicle_id": "", "kind": "charge"},
	},
	"station_events": {times: []field{{name: "at", col: "created_at"}}, sorts: []field{{name: "at", col: "created_at"}}},
	"commands":       {times: []field{createdAt}, sorts: []field{createdAt}},
	"cdrs": {
		times:    []field{createdAt},
		sorts:    []field{createdAt, {name: "total", col: "total_milli"}},
		amount:   &amountCols{col: "total_milli", milli: true},
		internal: []string{"total_milli"},
	},
	"invoices": {
		times:    []field{{name: "issued_at", col: "created_at"}},
		sorts:    []field{{name: "issued_at", col: "created_at"}, {name: "number", col: "number", text: true}, {name: "total", col: "total_milli"}},
		amount:   &amountCols{col: "total_milli", milli: true},
		internal: []string{"total_milli"},
	},
	"settlements": {times: []field{createdAt}, sorts: []field{createdAt}},
	"alarms": {
		times: []field{{name: "raised_at", col: "created_at"}, updatedAt},
		sorts: []field{{name: "raised_at", col: "created_at"}, updatedAt, {name: "severity", col: "severity", text: true}},
	},
	"swap_orders": {
		times: []field{createdAt, updatedAt},
		sorts: []field{createdAt, updatedAt, {name: "total", col: "total_milli"}},
		// total_milli is -1 until the swap is charged.
		amount:   &amountCols{col: "total_milli", milli: true, unset: true},
		internal: []string{"total_milli"},
	},
	"battery_events": {times: []field{{name: "at", col: "created_at"}}, sorts: []field{{name: "at", col: "created_at"}}},
}

var defaultSpec = listSpec{times: []field{createdAt}, sorts: []field{createdAt}}

// specOf returns a table's list spec, its noun filled in.
func specOf[T any](t *table[T]) *listSpec {
	if sp, ok := listSpecs[t.name]; ok {
		return sp
	}
	return &listSpec{noun: t.name, times: defaultSpec.times, sorts: defaultSpec.sorts}
}

func init() {
	for name, sp := range listSpecs {
		if sp.noun == "" {
			sp.noun = name
		}
	}
}
