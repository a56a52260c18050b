package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/audit"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/store"
)

var (
	sites = &table[asset.Site]{name: "sites", entity: "site",
		cols:   []string{"name", "time_zone", "default_tariff_id"},
		vals:   func(v *asset.Site) []any { return []any{v.Name, v.TimeZone, v.DefaultTariffID} },
		meta:   func(v *asset.Site) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		search: []string{"name"}}
	nodes = &table[asset.Node]{name: "nodes", entity: "node",
		cols: []string{"site_id", "parent_id", "kind"},
		vals: func(v *asset.Node) []any { return []any{v.SiteID, optRef(v.ParentID), v.Kind} },
		meta: func(v *asset.Node) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	stations = &table[asset.Station]{name: "stations", entity: "station",
		cols:   []string{"site_id", "node_id", "kind"},
		vals:   func(v *asset.Station) []any { return []any{v.SiteID, optRef(v.NodeID), v.Kind} },
		meta:   func(v *asset.Station) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		secret: func(v *asset.Station) *string { return &v.PasswordHash },
		search: []string{"id"}}
	evses = &table[asset.EVSE]{name: "evses", entity: "EVSE",
		cols: []string{"station_id", "evse_no"},
		vals: func(v *asset.EVSE) []any { return []any{v.StationID, v.EVSENo} },
		meta: func(v *asset.EVSE) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	connectors = &table[asset.Connector]{name: "connectors", entity: "connector",
		cols: []string{"evse_id", "station_id", "connector_no"},
		vals: func(v *asset.Connector) []any { return []any{v.EVSEID, v.StationID, v.ConnectorNo} },
		meta: func(v *asset.Connector) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	devices = &table[asset.Device]{name: "devices", entity: "device",
		cols: []string{"site_id", "node_id", "kind"},
		vals: func(v *asset.Device) []any { return []any{v.SiteID, optRef(v.NodeID), v.Kind} },
		meta: func(v *asset.Device) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	cabinets = &table[asset.Cabinet]{name: "cabinets", entity: "cabinet",
		cols: []string{"station_id"},
		vals: func(v *asset.Cabinet) []any { return []any{v.StationID} },
		meta: func(v *asset.Cabinet) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	batteries = &table[asset.Battery]{name: "batteries", entity: "battery",
		cols:   []string{"serial", "battery_type", "state", "cabinet_id"},
		vals:   func(v *asset.Battery) []any { return []any{v.Serial, v.BatteryType, v.State, optRef(v.CabinetID)} },
		meta:   func(v *asset.Battery) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		search: []string{"serial"}}
	users = &table[account.User]{name: "users", entity: "user",
		cols:   []string{"email", "role", "group_id", "name"},
		vals:   func(v *account.User) []any { return []any{v.Email, v.Role, v.GroupID, v.Name} },
		meta:   func(v *account.User) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		secret: func(v *account.User) *string { return &v.PasswordHash },
		search: []string{"name", "email"}}
	accounts = &table[account.Account]{name: "accounts", entity: "account",
		cols: []string{"user_id", "currency", "credit_limit"},
		vals: func(v *account.Account) []any { return []any{optRef(v.UserID), v.Currency, v.CreditLimit} },
		meta: func(v *account.Account) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} }}
	idTokens = &table[account.IdToken]{name: "id_tokens", entity: "id token",
		cols:   []string{"uid", "account_id", "group_id"},
		vals:   func(v *account.IdToken) []any { return []any{v.UID, v.AccountID, v.GroupID} },
		meta:   func(v *account.IdToken) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		search: []string{"uid"}}
	vehicles = &table[account.Vehicle]{name: "vehicles", entity: "vehicle",
		cols:     []string{"owner_id", "vin", "plate"},
		vals:     func(v *account.Vehicle) []any { return []any{v.OwnerID, v.VIN, v.Plate} },
		meta:     func(v *account.Vehicle) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		search:   []string{"vin", "plate"},
		nonEmpty: []string{"vin"}}
	apiTokens = &table[account.APIToken]{name: "api_tokens", entity: "API token",
		cols:   []string{"user_id"},
		vals:   func(v *account.APIToken) []any { return []any{v.UserID} },
		meta:   func(v *account.APIToken) meta { return meta{&v.ID, &v.Status, &v.CreatedAt, &v.UpdatedAt} },
		secret: func(v *account.APIToken) *string { return &v.Hash }}
	auditEvents = &table[audit.Event]{name: "audit_events", entity: "audit event",
		cols: []string{"actor", "entity", "entity_id"},
		vals: func(v *audit.Event) []any { return []any{v.Actor, v.Entity, v.EntityID} },
		meta: func(v *audit.Event) meta { return meta{ID: &v.ID, CreatedAt: &v.At, UpdatedAt: &v.At} }}
)

// tx is a store.Tx over one SQL transaction.
type tx struct {
	db *DB
	q  querier
	// The master-data cache's view of this transaction (see mdcache.go).
	vers      [nCached]int64
	verLoaded bool
	verErr    bool
	wrote     uint32 // cached tables written in this transaction
	// Columns of the sessions read or written in this transaction (see sessions.go).
	sessions map[string]sessionCols
	// Balances of the accounts this transaction locked, kept current by its postings (ledger.go).
	locked map[string]int64
	// Balances read ahead for a read transaction (PrefetchToken), which posts nothing.
	viewBalances map[string]int64
	// roll sums the report rollups of everything this transaction ended; flush writes it.
	roll *Rollup
	// newCDRs are the CDRs this transaction created, by id (cdrs.go).
	newCDRs map[string]billing.CDRRecord
	// pendFacts are ended sessions' report facts held back to be written together (report.go).
	pendFacts []store.SessionFact
	// Readings and status reports held back to be written together (operation.go).
	pendReadings []charging.Reading
	pendStatus   []charging.StatusChange
	// writer: a write transaction; touched: the sessions it read or wrote by station and
	// transaction, as it leaves them, for the active-session cache (SQLite; sessions.go).
	writer  bool
	touched map[string]*charging.Session
	// autocommit: a PostgreSQL View, whose statements run outside a transaction block
	// (DB.view); SET LOCAL has no effect there.
	autocommit bool
	// Session updates held back to be written together (sessions.go).
	pendSessions map[string]*pendingSession
	pendKeys     map[string]bool // sessionKey of each pending session, new or updated
	// New sessions held back (heldRows), and their ids by sessionKey(station, start key).
	newSessions heldRows[charging.Session]
	newStarts   map[string]string
	// New CDRs held back (cdrs.go).
	newCDRRows heldRows[billing.CDRRecord]
	// txNos: the transaction ids of the block this transaction drew from SQLite's counter row
	// and has not handed out (NextTransactionNo); the node gets them when it commits.
	txNos []int64
	// Sessions read ahead for the batch by PrefetchSessions, by sessionKey, as stored when
	// read; an entry goes when the transaction writes that session (sessions.go).
	prefetched map[string]*charging.Session
	// What ending the batch's sessions reads, read ahead by PrefetchSessions (readahead.go).
	ahead readAhead
	// Ledger entries and balance changes held back to be written together (ledger.go).
	pendEntries  []pendingEntry
	pendBalances map[string]int64
	// deferPosts: postings are held back too (DeferPostings); pendPosts are they, in order,
	// and pendPostKeys their indexes by idempotency key.
	deferPosts   bool
	pendPosts    []pendingPost
	pendPostKeys map[string]int
	// pipe queues the statements of the transaction's end where the engine pipelines them
	// (pipe.go; nil otherwise); pipeErr is a pipeline's failure that a QueryRow met.
	pipe    *pipe
	pipeErr error
}

// rollup is the transaction's pending rollup.
func (t *tx) rollup() *Rollup {
	if t.roll == nil {
		t.roll = NewRollup()
	}
	return t.roll
}

// flush writes what the transaction deferred to its end: readings, status reports, session
// updates and ledger entries, then the report rollups, once for the whole transaction (a batch
// of many sessions) with every table's rows in key order. Rollup rows are shared by every
// writer (a site's hour, a day), so all transactions taking them last and in one order keeps
// PostgreSQL's concurrent batches from deadlocking on them, as they did when each session
// upserted its own rows mid-transaction.
func (t *tx) flush(ctx context.Context) error {
	if err := t.pipelined(func() error { return t.flushHeld(ctx) }); err != nil {
		return err
	}
	return t.pipeErr
}

// flushHeld writes what the transaction held back, last the master-data versions it bumps.
func (t *tx) flushHeld(ctx context.Context) error {
	if err := t.flushOps(ctx); err != nil {
		return err
	}
	if err := t.flushSessions(ctx); err != nil {
		return err
	}
	if err := t.flushCDRs(ctx); err != nil {
		return err
	}
	if err := t.flushLedger(ctx); err != nil {
		return err
	}
	if err := t.flushFacts(ctx); err != nil {
		return err
	}
	if t.roll != nil {
		roll := t.roll
		t.roll = nil
		if err := roll.upsert(ctx, t); err != nil {
			return t.db.mapErr("add report rollups", err)
		}
	}
	return t.bumpVersions(ctx)
}

func bind[T any](t *tx, tb *table[T]) store.Repo[T] { return repo[T]{t: tb, db: t.db, q: t.q} }

func (t *tx) Sites() store.Repo[asset.Site]           { return bindCached(t, sites, cSites) }
func (t *tx) Nodes() store.Repo[asset.Node]           { return bind(t, nodes) }
func (t *tx) Stations() store.Repo[asset.Station]     { return bindCached(t, stations, cStations) }
func (t *tx) EVSEs() store.Repo[asset.EVSE]           { return bindCached(t, evses, cEVSEs) }
func (t *tx) Connectors() store.Repo[asset.Connector] { return bind(t, connectors) }
func (t *tx) Devices() store.Repo[asset.Device]       { return bind(t, devices) }
func (t *tx) Cabinets() store.Repo[asset.Cabinet]     { return bind(t, cabinets) }
func (t *tx) Batteries() store.Repo[asset.Battery]    { return bind(t, batteries) }
func (t *tx) Users() store.Repo[account.User]         { return bindCached(t, users, cUsers) }
func (t *tx) Accounts() store.Repo[account.Account]   { return bindCached(t, accounts, cAccounts) }
func (t *tx) IdTokens() store.Repo[account.IdToken]   { return bindCached(t, idTokens, cIdTokens) }
func (t *tx) Vehicles() store.Repo[account.Vehicle]   { return bind(t, vehicles) }
func (t *tx) APITokens() store.Repo[account.APIToken] { return bind(t, apiTokens) }
func (t *tx) Audit() store.Repo[audit.Event]          { return bind(t, auditEvents) }

// Balance reads the account's running balance (kept by every posting; see ledger.go), or for a
// system account the sum of its entries.
func (t *tx) Balance(ctx context.Context, accountID string) (int64, error) {
	if bal, ok := t.locked[accountID]; ok {
		return bal, nil
	}
	if bal, ok := t.viewBalances[accountID]; ok {
		return bal, nil
	}
	var bal int64
	q := "SELECT balance FROM account_balances WHERE account_id = ?"
	if strings.HasPrefix(accountID, SystemPrefix) {
		q = "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account_id = ?"
		if err := t.flushLedger(ctx); err != nil {
			return 0, err
		}
	}
	err := t.q.QueryRowContext(ctx, t.db.rebind(q), accountID).Scan(&bal)
	if err == sql.ErrNoRows {
		err = nil // no posting yet
	}
	// Postings of this transaction not yet written count (a system account's were written).
	return bal + t.pendBalances[accountID], t.db.mapErr("balance", err)
}
