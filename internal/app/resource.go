package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/evcs/evcs/internal/audit"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/store"
)

// Resource describes a master-data record type: how it is built and checked from its input
// (create and merge-patch share one path), and where it is stored. T is the record, I the
// input an API client writes.
type Resource[T, I any] struct {
	Name   string // "site": for errors and the audit log
	Prefix string // id prefix; "" when the input carries the id
	// WriteRole may create, update and deactivate.
	WriteRole string
	Repo      func(store.Tx) store.Repo[T]
	// Build checks in (against the store as needed) and returns the record to store.
	// old is nil on create; on update it is the stored record, which Build may copy from.
	Build func(ctx context.Context, tx store.Tx, in I, old *T, id string, now time.Time) (*T, error)
	// Input returns the writable state of a record, for merge patches.
	Input func(*T) I
	// Meta returns pointers to the record's id, status and update time.
	Meta func(*T) (id, status *string, updated *time.Time)
	// AfterCreate runs in the same transaction (e.g. a purchaser's account).
	AfterCreate func(ctx context.Context, tx store.Tx, v *T, in I) error
	// InputID returns the id carried by the input, for resources whose ids clients choose.
	InputID func(I) string
	// SelfService, when set, lets a purchaser create, update and deactivate their own records
	// (see ownerOf in accounts.go): it checks that the input is theirs too and changes only
	// what purchasers may change (old is nil on create).
	SelfService func(ctx context.Context, in I, old *T) error
}

// selfWrite says whether ctx's actor writes as a purchaser on their own records; otherwise the
// actor needs the resource's write role.
func selfWrite[T, I any](ctx context.Context, r *Resource[T, I]) (bool, error) {
	if IsPurchaser(ctx) && r.SelfService != nil {
		return true, nil
	}
	return false, require(ctx, r.WriteRole)
}

// getOwn reads a record for a write, answering NotFound to a purchaser for another's.
func getOwn[T, I any](ctx context.Context, tx store.Tx, r *Resource[T, I], id string, self bool) (*T, error) {
	v, err := r.Repo(tx).Get(ctx, id)
	if err == nil && self {
		err = CheckOwn(ctx, r.Name, id, v)
	}
	return v, hideFromPurchaser(ctx, r.Name, id, err)
}

// Create stores a new record from its input.
func Create[T, I any](ctx context.Context, a *App, r *Resource[T, I], in I) (*T, error) {
	self, err := selfWrite(ctx, r)
	if err != nil {
		return nil, errs.Wrap("create "+r.Name, err)
	}
	var out *T
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		if self {
			if err := r.SelfService(ctx, in, nil); err != nil {
				return err
			}
		}
		now := a.now()
		id := ""
		if r.InputID != nil {
			id = r.InputID(in)
		} else {
			id = ids.New(r.Prefix)
		}
		v, err := r.Build(ctx, tx, in, nil, id, now)
		if err != nil {
			return err
		}
		if err := r.Repo(tx).Create(ctx, v); err != nil {
			return err
		}
		if r.AfterCreate != nil {
			if err := r.AfterCreate(ctx, tx, v, in); err != nil {
				return err
			}
		}
		out = v
		return a.record(ctx, tx, "create", r.Name, id, nil, v)
	})
	return out, errs.Wrap("create "+r.Name, err)
}

// Get reads one record; a purchaser reads only their own (NotFound for any other).
func Get[T, I any](ctx context.Context, a *App, r *Resource[T, I], id string) (*T, error) {
	var out *T
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { out, err = r.Repo(tx).Get(ctx, id); return })
	if err == nil {
		err = CheckOwn(ctx, r.Name, id, out)
	}
	if err != nil {
		return nil, hideFromPurchaser(ctx, r.Name, id, err)
	}
	return out, nil
}

// List reads a page of records; a purchaser lists only their own.
func List[T, I any](ctx context.Context, a *App, r *Resource[T, I], q store.Query) ([]T, string, error) {
	if p, ok := purchaser(ctx); ok {
		own := ownFilter[T](p)
		if own == nil {
			return nil, "", errs.E(errs.Forbidden, "purchasers list only their own records")
		}
		f := map[string]string{}
		for k, v := range q.Filter {
			f[k] = v
		}
		for k, v := range own {
			if old, set := f[k]; v == "" || set && old != v {
				return nil, "", nil // another purchaser's: nothing of theirs matches
			}
			f[k] = v
		}
		q.Filter = f
	}
	var items []T
	var next string
	err := a.Store.View(ctx, func(tx store.Tx) (err error) { items, next, err = r.Repo(tx).List(ctx, q); return })
	return items, next, err
}

// Patch applies a JSON merge patch (RFC 7396) to a record's input and stores the result.
func Patch[T, I any](ctx context.Context, a *App, r *Resource[T, I], id string, patch []byte) (*T, error) {
	self, err := selfWrite(ctx, r)
	if err != nil {
		return nil, errs.Wrap("update "+r.Name, err)
	}
	var out *T
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		old, err := getOwn(ctx, tx, r, id, self)
		if err != nil {
			return err
		}
		in, err := mergeInput(r.Input(old), patch)
		if err != nil {
			return err
		}
		if self {
			if err := r.SelfService(ctx, in, old); err != nil {
				return err
			}
		}
		v, err := r.Build(ctx, tx, in, old, id, a.now())
		if err != nil {
			return err
		}
		if err := r.Repo(tx).Update(ctx, v); err != nil {
			return err
		}
		out = v
		return a.record(ctx, tx, "update", r.Name, id, old, v)
	})
	return out, errs.Wrap("update "+r.Name, err)
}

// Deactivate marks a record inactive. Nothing a bill may refer to is ever deleted.
func Deactivate[T, I any](ctx context.Context, a *App, r *Resource[T, I], id string) (*T, error) {
	self, err := selfWrite(ctx, r)
	if err != nil {
		return nil, errs.Wrap("deactivate "+r.Name, err)
	}
	var out *T
	err = a.Store.InTx(ctx, func(tx store.Tx) error {
		v, err := getOwn(ctx, tx, r, id, self)
		if err != nil {
			return err
		}
		before := *v
		_, status, updated := r.Meta(v)
		*status = "inactive"
		*updated = a.now()
		if err := r.Repo(tx).Update(ctx, v); err != nil {
			return err
		}
		out = v
		return a.record(ctx, tx, "deactivate", r.Name, id, &before, v)
	})
	return out, errs.Wrap("deactivate "+r.Name, err)
}

// record writes an audit event in the current transaction.
func (a *App) record(ctx context.Context, tx store.Tx, action, entity, id string, before, after any) error {
	ev := audit.Event{ID: ids.New("aud"), At: a.now(), Actor: ActorFrom(ctx).UserID, Action: action, Entity: entity, EntityID: id}
	if before == nil {
		ev.Changes = audit.Diff(nil, after)
	} else {
		ev.Changes = audit.Diff(before, after)
	}
	return tx.Audit().Create(ctx, &ev)
}

// mergeInput applies an RFC 7396 merge patch to the JSON form of cur, refusing unknown fields.
func mergeInput[I any](cur I, patch []byte) (I, error) {
	var zero I
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return zero, errs.E(errs.Invalid, "body must be a JSON object: %v", err)
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return zero, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return zero, err
	}
	for k, v := range p {
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			return zero, errs.Field(k, "invalid JSON")
		}
		if val == nil {
			delete(doc, k)
			continue
		}
		if m, ok := val.(map[string]any); ok {
			if old, ok := doc[k].(map[string]any); ok {
				for mk, mv := range m {
					if mv == nil {
						delete(old, mk)
					} else {
						old[mk] = mv
					}
				}
				continue
			}
		}
		doc[k] = val
	}
	merged, _ := json.Marshal(doc)
	return decodeStrict[I](merged)
}

// decodeStrict decodes JSON into I, refusing unknown fields and naming the offending field.
func decodeStrict[I any](b []byte) (I, error) {
	var v I
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return v, jsonFieldError(err)
	}
	return v, nil
}

func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if asType(err, &te) {
		return errs.Field(te.Field, "expected %s", te.Type.String())
	}
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		f := strings.Trim(msg[i+len("unknown field "):], `"`)
		return errs.Field(f, "unknown field")
	}
	var fe *errs.Error
	if asType(err, &fe) {
		return err
	}
	return errs.E(errs.Invalid, "%s", msg)
}
