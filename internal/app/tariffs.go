package app

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
)

// Defaults filled into a tariff body that lacks them: OCPI requires a party, and EVCS is the
// party when the operator does not say otherwise ("XX" is a user-assigned ISO 3166 code).
const (
	DefaultCountryCode = "XX"
	DefaultPartyID     = "EVC"
)

// prepareTariff fills id, country_code, party_id and last_updated when absent, then decodes
// and validates the OCPI body strictly. It returns the body to store.
func prepareTariff(body []byte, id string, now time.Time) ([]byte, billing.Tariff, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, billing.Tariff{}, errs.E(errs.Invalid, "the body must be an OCPI 2.2.1 Tariff object")
	}
	set := func(k string, v any) {
		if _, ok := m[k]; !ok {
			b, _ := json.Marshal(v)
			m[k] = b
		}
	}
	if id != "" {
		if raw, ok := m["id"]; ok {
			var given string
			if json.Unmarshal(raw, &given) != nil || given != id {
				return nil, billing.Tariff{}, errs.Field("id", "does not match the tariff being changed (%s)", id)
			}
		}
		set("id", id)
	}
	set("country_code", DefaultCountryCode)
	set("party_id", DefaultPartyID)
	m["last_updated"], _ = json.Marshal(now.UTC().Format(time.RFC3339))
	out, _ := json.Marshal(m)
	t, err := billing.DecodeTariff(out)
	if err != nil {
		return nil, billing.Tariff{}, err
	}
	return out, t, nil
}

// CreateTariff stores version 1 of a new tariff. Its id is the body's id, or a new one.
func (a *App) CreateTariff(ctx context.Context, body []byte) (*billing.TariffRecord, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("create tariff", err)
	}
	now := a.now()
	var given struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &given)
	id := given.ID
	if id == "" {
		id = ids.New("tar")
	}
	if len(id) > 36 {
		return nil, errs.Field("id", "must be at most 36 characters (OCPI)")
	}
	raw, t, err := prepareTariff(body, id, now)
	if err != nil {
		return nil, err
	}
	rec := &billing.TariffRecord{ID: id, Version: 1, Currency: t.Currency, Status: billing.TariffActive, Tariff: raw, CreatedAt: now, UpdatedAt: now, CreatedBy: ActorFrom(ctx).UserID}
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.Tariffs().Latest(ctx, id); err == nil {
			return &errs.Error{Kind: errs.Conflict, Field: "id", Msg: "tariff " + id + " exists; PUT /api/v1/tariffs/" + id + " makes a new version"}
		}
		if err := tx.Tariffs().Add(ctx, rec); err != nil {
			return err
		}
		return a.record(ctx, tx, "create", "tariff", id, nil, rec)
	})
	return rec, errs.Wrap("create tariff", err)
}

// UpdateTariff stores a new version of a tariff. Sessions already running keep theirs.
func (a *App) UpdateTariff(ctx context.Context, id string, body []byte) (*billing.TariffRecord, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("update tariff", err)
	}
	now := a.now()
	raw, t, err := prepareTariff(body, id, now)
	if err != nil {
		return nil, err
	}
	var rec *billing.TariffRecord
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		prev, err := tx.Tariffs().Latest(ctx, id)
		if err != nil {
			return err
		}
		if prev.Currency != t.Currency {
			return errs.Field("currency", "a tariff keeps its currency (%s); create another tariff", prev.Currency)
		}
		rec = &billing.TariffRecord{ID: id, Version: prev.Version + 1, Currency: t.Currency, Status: billing.TariffActive, Tariff: raw, CreatedAt: prev.CreatedAt, UpdatedAt: now, CreatedBy: ActorFrom(ctx).UserID}
		if err := tx.Tariffs().Add(ctx, rec); err != nil {
			return err
		}
		if prev.Status != billing.TariffActive {
			if err := tx.Tariffs().SetStatus(ctx, id, billing.TariffActive); err != nil {
				return err
			}
		}
		return a.record(ctx, tx, "update", "tariff", id, prev, rec)
	})
	return rec, errs.Wrap("update tariff", err)
}

// DeactivateTariff stops a tariff from being used for new sessions.
func (a *App) DeactivateTariff(ctx context.Context, id string) (*billing.TariffRecord, error) {
	if err := require(ctx, account.RoleOperator); err != nil {
		return nil, errs.Wrap("deactivate tariff", err)
	}
	var rec *billing.TariffRecord
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.Tariffs().SetStatus(ctx, id, billing.TariffInactive); err != nil {
			return err
		}
		var err error
		if rec, err = tx.Tariffs().Latest(ctx, id); err != nil {
			return err
		}
		return a.record(ctx, tx, "deactivate", "tariff", id, nil, map[string]string{"status": billing.TariffInactive})
	})
	return rec, errs.Wrap("deactivate tariff", err)
}

// Tariff reads a tariff: its latest version, or a given one (version > 0).
func (a *App) Tariff(ctx context.Context, id string, version int) (*billing.TariffRecord, error) {
	var rec *billing.TariffRecord
	err := a.Store.View(ctx, func(tx store.Tx) (err error) {
		if version > 0 {
			rec, err = tx.Tariffs().Version(ctx, id, version)
		} else {
			rec, err = tx.Tariffs().Latest(ctx, id)
		}
		return
	})
	return rec, err
}

// Tariffs lists tariffs (latest versions).
func (a *App) Tariffs(ctx context.Context, q store.Query) ([]billing.TariffRecord, string, error) {
	var out []billing.TariffRecord
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, next, err = tx.Tariffs().List(ctx, q); return })
	return out, next, err
}

// mustTariff fails with an Invalid error naming field unless tariff id exists and is active.
func mustTariff(ctx context.Context, tx store.Tx, field, id string) error {
	if id == "" {
		return nil
	}
	t, err := tx.Tariffs().Latest(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return errs.Field(field, "tariff %q does not exist", id)
	}
	if err != nil {
		return err
	}
	if t.Status != billing.TariffActive {
		return errs.Field(field, "tariff %q is inactive", id)
	}
	return nil
}
