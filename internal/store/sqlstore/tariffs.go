package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

type tariffs struct{ t *tx }

func (t *tx) Tariffs() store.Tariffs { return tariffs{t} }

func (r tariffs) Add(ctx context.Context, v *billing.TariffRecord) error {
	r.t.wroteTo(cTariffs)
	data, err := json.Marshal(v)
	if err != nil {
		return errs.Wrap("encode tariff", err)
	}
	_, err = r.t.q.ExecContext(ctx, r.t.db.rebind("INSERT INTO tariffs (id, version, status, created_at, updated_at, currency, data) VALUES (?, ?, ?, ?, ?, ?, ?)"),
		v.ID, v.Version, v.Status, micros(v.CreatedAt), micros(v.UpdatedAt), v.Currency, string(data))
	return r.t.db.mapErr("add tariff", err)
}

func (r tariffs) one(ctx context.Context, q string, args ...any) (*billing.TariffRecord, error) {
	var data, status string
	if err := r.t.q.QueryRowContext(ctx, r.t.db.rebind(q), args...).Scan(&data, &status); err != nil {
		if err := r.t.db.mapErr("get tariff", err); errs.Is(err, errs.NotFound) {
			return nil, errs.E(errs.NotFound, "tariff %v not found", args[0])
		} else {
			return nil, err
		}
	}
	return decodeTariff(data, status)
}

// decodeTariff is a stored tariff version: its document, with the status column.
func decodeTariff(data, status string) (*billing.TariffRecord, error) {
	var v billing.TariffRecord
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return nil, errs.Wrap("decode tariff", err)
	}
	v.Status = status
	return &v, nil
}

// Latest goes through the master-data cache (mdcache.go): every session start asks for it.
func (r tariffs) Latest(ctx context.Context, id string) (*billing.TariffRecord, error) {
	ver, ok := r.t.version(ctx, cTariffs)
	c := &r.t.db.md.tables[cTariffs]
	if ok {
		if d, hit := c.get(ver, id); hit {
			if cp, ok := cachedCopy[billing.TariffRecord](d); ok {
				return cp, nil
			}
			return decodeTariff(d.data, d.secret) // the status rides in the secret slot
		}
	}
	var data, status string
	err := r.t.q.QueryRowContext(ctx, r.t.db.rebind("SELECT data, status FROM tariffs WHERE id = ? ORDER BY version DESC LIMIT 1"), id).Scan(&data, &status)
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "tariff %v not found", id)
	}
	if err != nil {
		return nil, r.t.db.mapErr("get tariff", err)
	}
	v, err := decodeTariff(data, status)
	if err == nil && ok {
		c.put(ver, id, "", mdDoc{data: data, secret: status, val: keep(v)})
	}
	return v, err
}

func (r tariffs) Version(ctx context.Context, id string, version int) (*billing.TariffRecord, error) {
	return r.one(ctx, "SELECT data, status FROM tariffs WHERE id = ? AND version = ?", id, version)
}

func (r tariffs) SetStatus(ctx context.Context, id, status string) error {
	r.t.wroteTo(cTariffs)
	res, err := r.t.q.ExecContext(ctx, r.t.db.rebind("UPDATE tariffs SET status = ? WHERE id = ?"), status, id)
	if err != nil {
		return r.t.db.mapErr("tariff status", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "tariff %q not found", id)
	}
	return nil
}

// tariffSpec lists tariffs (their latest versions) by id, or by when their latest version was
// made or changed, over a range of either.
var tariffSpec = &listSpec{noun: "tariffs", id: "t.id",
	times: []field{{name: "updated_at", col: "t.updated_at"}, {name: "created_at", col: "t.created_at"}},
	sorts: []field{{name: "updated_at", col: "t.updated_at"}, {name: "created_at", col: "t.created_at"}}}

func (r tariffs) List(ctx context.Context, q store.Query) ([]billing.TariffRecord, string, error) {
	limit := pageLimit(q)
	p, err := planList(tariffSpec, q)
	if err != nil {
		return nil, "", err
	}
	where := []string{"t.version = (SELECT MAX(version) FROM tariffs m WHERE m.id = t.id)"}
	var args []any
	for _, k := range slices.Sorted(maps.Keys(q.Filter)) {
		switch k {
		case "status", "currency":
			where = append(where, "t."+k+" = ?")
			args = append(args, q.Filter[k])
		default:
			return nil, "", errs.Field(k, "cannot filter tariffs by %s (filters: status, currency)", k)
		}
	}
	where, args = append(where, p.where...), append(args, p.args...)
	sqlq := "SELECT t.data, t.status"
	if c := p.sortCol(); c != "" {
		sqlq += ", " + c
	}
	sqlq += " FROM tariffs t WHERE " + strings.Join(where, " AND ") + p.orderBy() + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := r.t.q.QueryContext(ctx, r.t.db.rebind(sqlq), args...)
	if err != nil {
		return nil, "", r.t.db.mapErr("list tariffs", err)
	}
	defer rows.Close()
	out, next, err := readPage(p, rows, limit, func(sv any) (billing.TariffRecord, error) {
		var data, status string
		var v billing.TariffRecord
		if err := scanRow(rows, sv, &data, &status); err != nil {
			return v, err
		}
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return v, errs.Wrap("decode tariff", err)
		}
		v.Status = status
		return v, nil
	}, func(v *billing.TariffRecord) string { return v.ID })
	return out, next, r.t.db.mapErr("list tariffs", err)
}
