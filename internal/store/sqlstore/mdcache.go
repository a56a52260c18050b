package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// The master-data cache keeps the documents the OCPP hot path reads on every start, stop and
// authorisation (station, site, EVSE, token, account, purchaser, group, tariff) in memory, so a
// session start costs its writes and not a dozen lookups.
//
// It is exact, not a time-to-live cache. Every cached table has a version row in
// cache_versions; a write to the table through its repository bumps the row in the same
// transaction, so the bump commits (and is seen by every process and node sharing the database)
// exactly when the data does. A transaction reads the versions once, at its first cached read;
// an entry is used only when it was loaded at the version that transaction sees. A transaction
// that has written a table reads that table from the database for the rest of its life.
// Invariant: every write to a cached table goes through its repository here (Create, Update,
// Tariffs().Add/SetStatus), never through raw SQL elsewhere.
type mdCache struct {
	tables  [nCached]mdTable
	pending pendingSettlements
}

// Cached tables, in cache_versions.
const (
	cStations = iota
	cSites
	cEVSEs
	cAccounts
	cIdTokens
	cUsers
	cGroups
	cTariffs
	cSettlements // not cached as documents: pendingSettlements keeps one answer per version
	nCached
)

var cachedNames = [nCached]string{"stations", "sites", "evses", "accounts", "id_tokens", "users", "purchaser_groups", "tariffs", "settlements"}

// maxCached bounds the entries per table; a table over it starts again from empty.
const maxCached = 200_000

type mdTable struct {
	mu   sync.RWMutex
	v    int64             // the version the entries were read at
	docs map[string]mdDoc  // id → document
	keys map[string]string // field \x00 value → id
}

// mdDoc is a cached record: its stored JSON and secret column, and (val) the record decoded
// once, which hits copy (clone.go) instead of decoding again. val is never changed or handed
// out itself; it is nil for a type the copier has no plan for.
type mdDoc struct {
	data, secret string
	val          any
}

func (t *mdTable) get(v int64, id string) (mdDoc, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.v != v || t.docs == nil {
		return mdDoc{}, false
	}
	d, ok := t.docs[id]
	return d, ok
}

// lookup answers a keyed lookup: known with id "" means the key was looked up and matched none.
func (t *mdTable) lookup(v int64, key string) (id string, d mdDoc, known bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.v != v || t.keys == nil {
		return "", mdDoc{}, false
	}
	id, known = t.keys[key]
	if !known || id == "" {
		return id, mdDoc{}, known
	}
	d, known = t.docs[id]
	return id, d, known
}

// putNone records that key matched no record at version v.
func (t *mdTable) putNone(v int64, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v < t.v {
		return
	}
	if v > t.v || t.docs == nil || len(t.keys) >= maxCached {
		t.v, t.docs, t.keys = v, make(map[string]mdDoc), make(map[string]string)
	}
	t.keys[key] = ""
}

// put stores a document read at version v (key may be ""). An older version is not stored; a
// newer one replaces everything.
func (t *mdTable) put(v int64, id, key string, d mdDoc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v < t.v {
		return
	}
	if v > t.v || t.docs == nil || len(t.docs) >= maxCached {
		t.v, t.docs, t.keys = v, make(map[string]mdDoc), make(map[string]string)
	}
	t.docs[id] = d
	if key != "" {
		t.keys[key] = id
	}
}

// mdKey is a table's key of the entry whose field has value (mdTable.keys).
func mdKey(field, value string) string { return field + "\x00" + value }

// peek is lookup at whatever version the entries were read at: a guess, for a read-ahead
// whose statement reads the versions too, so that they confirm it or not.
func (t *mdTable) peek(key string) (mdDoc, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id := t.keys[key]
	if id == "" {
		return mdDoc{}, false
	}
	d, ok := t.docs[id]
	return d, ok
}

// versionsQuery reads the versions of the cached tables.
const versionsQuery = "SELECT name, v FROM cache_versions"

// version is the table's version as this transaction sees it; ok is false when the cache
// cannot be used (a write in this transaction, or the versions could not be read).
func (t *tx) version(ctx context.Context, table int) (int64, bool) {
	if t.wrote&(1<<table) != 0 || t.verErr {
		return 0, false
	}
	if !t.verLoaded {
		rows, err := t.q.QueryContext(ctx, versionsQuery)
		if err != nil {
			t.verErr = true
			return 0, false
		}
		t.loadVersions(rows, nil)
	}
	if t.verErr {
		return 0, false
	}
	return t.vers[table], true
}

// loadVersions reads the rows of versionsQuery (closing them) and sets verLoaded, or verErr
// when they are not all there; other, for a query that reads more beside them, is given every
// row whose name is no table's.
func (t *tx) loadVersions(rows *sql.Rows, other func(name string, v int64)) {
	seen := 0
	for rows.Next() {
		var name string
		var v int64
		if rows.Scan(&name, &v) != nil {
			break
		}
		if !t.versionRow(name, v, &seen) && other != nil {
			other(name, v)
		}
	}
	err := rows.Close()
	t.versionsRead(seen, err == nil && rows.Err() == nil)
}

// versionRow takes a row of versionsQuery, marking its table in seen; false when the name is
// no table's.
func (t *tx) versionRow(name string, v int64, seen *int) bool {
	i := slices.Index(cachedNames[:], name)
	if i < 0 {
		return false
	}
	t.vers[i] = v
	*seen |= 1 << i
	return true
}

// versionsRead ends a read of the versions: loaded when it went well and saw every table.
func (t *tx) versionsRead(seen int, ok bool) {
	if !ok || seen != 1<<nCached-1 {
		t.verErr = true
		return
	}
	t.verLoaded = true
}

// readVersionsAhead queues the read of the versions in the pipeline being queued (pipe.go),
// when they are not read yet: a batch's read-ahead takes them in its first round trip, where
// the first look-up in the cache asked on its own.
func (t *tx) readVersionsAhead() {
	if t.pipe == nil || !t.pipe.on || t.verLoaded || t.verErr {
		return
	}
	seen := 0
	t.queue(PipeItem{SQL: versionsQuery,
		Row: func(scan func(...any) error) error {
			var name string
			var v int64
			if err := scan(&name, &v); err != nil {
				return err
			}
			t.versionRow(name, v, &seen)
			return nil
		},
		Done: func(_ int64, err error) error {
			t.versionsRead(seen, err == nil)
			return t.db.mapErr("cache versions", err)
		}})
}

// wroteTo records a write to a cached table. Its version is bumped once, by bumpVersions at
// the end of the transaction: on PostgreSQL the bump locks the table's version row until
// commit, and taken at the first write it held that lock through the whole batch, so every
// node's batches with a boot in them (a station update) queued behind each other.
func (t *tx) wroteTo(table int) { t.wrote |= 1 << table }

// bumpVersions bumps the version of every cached table the transaction wrote, in table order
// (the order concurrent transactions take the rows' locks in). tx.flush calls it last, once,
// just before the commit.
func (t *tx) bumpVersions(ctx context.Context) error {
	for i, name := range cachedNames {
		if t.wrote&(1<<i) == 0 {
			continue
		}
		if err := t.later(ctx, "cache version", "UPDATE cache_versions SET v = v + 1 WHERE name = ?", []any{name}, nil); err != nil {
			return err
		}
	}
	return nil
}

// cachedRepo is a repository whose Get and GetBy go through the master-data cache.
type cachedRepo[T any] struct {
	repo[T]
	tx    *tx
	table int
}

func bindCached[T any](t *tx, tb *table[T], table int) store.Repo[T] {
	return cachedRepo[T]{repo: repo[T]{t: tb, db: t.db, q: t.q}, tx: t, table: table}
}

func (r cachedRepo[T]) decode(d mdDoc) (*T, error) {
	if cp, ok := cachedCopy[T](d); ok {
		return cp, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(d.data), v); err != nil {
		return nil, errs.Wrap("decode "+r.t.entity, err)
	}
	if r.t.secret != nil {
		*r.t.secret(v) = d.secret
	}
	return v, nil
}

// cachedCopy is the caller's copy of the record a document holds decoded, if it holds one.
func cachedCopy[T any](d mdDoc) (*T, bool) {
	if x, ok := d.val.(*T); ok {
		return deepCopy(x)
	}
	return nil, false
}

// keep is the copy of a record the cache holds (nil when the copier has no plan for T).
func keep[T any](v *T) any {
	if cp, ok := deepCopy(v); ok {
		return cp
	}
	return nil
}

// remember decodes a document just loaded, caches it (with key, when not "") at version v and
// returns the caller's copy.
func (r cachedRepo[T]) remember(c *mdTable, v int64, id, key string, d mdDoc) (*T, error) {
	x, err := r.decode(d)
	if err != nil {
		return nil, err
	}
	d.val = keep(x)
	c.put(v, id, key, d)
	return x, nil
}

// load reads one document by column; not found is sql.ErrNoRows.
func (r cachedRepo[T]) load(ctx context.Context, col, value string) (id string, d mdDoc, err error) {
	q := "SELECT id, data FROM " + r.t.name + " WHERE " + col + " = ? ORDER BY id LIMIT 1"
	dst := []any{&id, &d.data}
	if r.t.secret != nil {
		q = "SELECT id, data, secret FROM " + r.t.name + " WHERE " + col + " = ? ORDER BY id LIMIT 1"
		dst = append(dst, &d.secret)
	}
	err = r.q.QueryRowContext(ctx, r.db.rebind(q), value).Scan(dst...)
	return id, d, err
}

func (r cachedRepo[T]) Get(ctx context.Context, id string) (*T, error) {
	v, ok := r.tx.version(ctx, r.table)
	if !ok {
		return r.repo.Get(ctx, id)
	}
	c := &r.db.md.tables[r.table]
	if d, hit := c.get(v, id); hit {
		return r.decode(d)
	}
	_, d, err := r.load(ctx, "id", id)
	if err == sql.ErrNoRows {
		return nil, errs.E(errs.NotFound, "%s %q not found", r.t.entity, id)
	}
	if err != nil {
		return nil, r.db.mapErr("get "+r.t.entity, err)
	}
	return r.remember(c, v, id, "", d)
}

func (r cachedRepo[T]) GetBy(ctx context.Context, field, value string) (*T, error) {
	if field == "id" {
		return r.Get(ctx, value)
	}
	v, ok := r.tx.version(ctx, r.table)
	if !ok || field == "secret" {
		return r.repo.GetBy(ctx, field, value)
	}
	c := &r.db.md.tables[r.table]
	key := mdKey(field, value)
	if id, d, known := c.lookup(v, key); known {
		if id == "" { // looked up at this version and matched none: an unknown token tried again
			return nil, errs.E(errs.NotFound, "%s with %s %q not found", r.t.entity, field, value)
		}
		return r.decode(d)
	}
	if !slices.Contains(r.Filterable(), field) {
		return nil, errs.E(errs.Internal, "%s has no column %q", r.t.name, field)
	}
	id, d, err := r.load(ctx, field, value)
	if err == sql.ErrNoRows {
		c.putNone(v, key)
		return nil, errs.E(errs.NotFound, "%s with %s %q not found", r.t.entity, field, value)
	}
	if err != nil {
		return nil, r.db.mapErr("get "+r.t.entity, err)
	}
	return r.remember(c, v, id, key, d)
}

// List answers the hot path's one-record lookups by filters (an EVSE by station and number)
// from the cache, including "there is none"; any other query goes to the database.
func (r cachedRepo[T]) List(ctx context.Context, q store.Query) ([]T, string, error) {
	plain := q
	plain.Filter, plain.Limit = nil, 0
	if q.Limit != 1 || len(q.Filter) == 0 || !reflect.DeepEqual(plain, store.Query{}) {
		return r.repo.List(ctx, q)
	}
	v, ok := r.tx.version(ctx, r.table)
	if !ok {
		return r.repo.List(ctx, q)
	}
	fields := make([]string, 0, len(q.Filter))
	for f := range q.Filter {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	key := "list"
	for _, f := range fields {
		key += "\x00" + f + "\x00" + q.Filter[f]
	}
	c := &r.db.md.tables[r.table]
	if id, d, known := c.lookup(v, key); known {
		if id == "" {
			return nil, "", nil
		}
		x, err := r.decode(d)
		if err != nil {
			return nil, "", err
		}
		return []T{*x}, "", nil
	}
	items, next, err := r.repo.List(ctx, q)
	if err != nil || next != "" || len(items) > 1 {
		return items, next, err
	}
	if len(items) == 0 {
		c.putNone(v, key)
		return items, next, nil
	}
	m := r.t.meta(&items[0])
	data, err := json.Marshal(&items[0])
	if err != nil {
		return items, next, nil
	}
	d := mdDoc{data: string(data), val: keep(&items[0])}
	if r.t.secret != nil {
		d.secret = *r.t.secret(&items[0])
	}
	c.put(v, *m.ID, key, d)
	return items, next, nil
}

func (r cachedRepo[T]) Create(ctx context.Context, v *T) error {
	r.tx.wroteTo(r.table)
	return r.repo.Create(ctx, v)
}

func (r cachedRepo[T]) Update(ctx context.Context, v *T) error {
	r.tx.wroteTo(r.table)
	return r.repo.Update(ctx, v)
}
