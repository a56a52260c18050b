package sqlstore

import (
	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/store"
)

var groups = &table[account.Group]{name: "purchaser_groups", entity: "purchaser group",
	cols:   []string{"name", "tariff_id"},
	vals:   func(v *account.Group) []any { return []any{v.Name, v.TariffID} },
	meta:   func(v *account.Group) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
	search: []string{"name"}}

func (t *tx) Groups() store.Repo[account.Group] { return bindCached(t, groups, cGroups) }
