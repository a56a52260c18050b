// Package store declares what EVCS needs from a database; store/sqlite and store/postgres
// implement it, and store/storetest is the one suite both pass.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/audit"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errs.E(errs.NotFound, "not found")

// Store is a database. Writes run in InTx (one transaction, serialised where the engine needs it);
// reads that need no lock run in View.
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Ping(ctx context.Context) error
	Stats() Stats
	Dialect() string // "sqlite" or "postgres"
	Close() error
}

// Stats are connection-pool figures for /metrics.
type Stats struct {
	OpenConns, InUse, Idle int
	WaitCount              int64
	WaitDuration           time.Duration
}

// Query selects a page of a list.
type Query struct {
	Filter map[string]string // field → exact value; fields per repository (see Filterable)
	Search string            // substring match on the repository's searchable fields
	Limit  int               // 1..500, default 50
	Cursor string            // opaque, from the previous page's next cursor

	// From (inclusive) and To (exclusive) bound the list's time field: TimeField, or when empty
	// the repository's natural one (a session's start, a ledger entry's or alarm's creation…).
	// Zero: unbounded. With a time range (else an amount range) and no Sort, the list is ordered
	// by that field, so the range is read from an index instead of by id.
	From, To  time.Time
	TimeField string
	// MinAmount and MaxAmount bound the repository's amount (a session's cost, a top-up's or
	// ledger entry's amount, an invoice's total), inclusive, as exact decimals in each row's
	// currency ("12.5"); "" is unbounded. Rows without an amount yet (unrated) never match.
	MinAmount, MaxAmount string
	// Sort is a field of the repository's allow-list, "-field" for descending; "" is the
	// repository's default order (id). A cursor is only valid with the Sort it was made for.
	Sort string
}

// ErrBadQuery marks a list query the store refuses for its sort, time range, amount range or a
// cursor made for another sort: the API answers it with 400 naming the query parameter (the
// error's field).
var ErrBadQuery = errors.New("bad list query")

// BadQuery is an Invalid error about a list query parameter, marked with ErrBadQuery.
func BadQuery(param, format string, args ...any) error {
	return &errs.Error{Kind: errs.Invalid, Field: param, Msg: fmt.Sprintf(format, args...), Err: ErrBadQuery}
}

// SearchQuery is a cross-entity search: Text is matched, case-insensitively, as a substring.
type SearchQuery struct {
	Text    string
	PerType int      // hits per type, 1..50 (default 10)
	Types   []string // SearchTypes to search; empty: all
}

// Search hit types.
const (
	SearchPurchasers = "purchasers"
	SearchIdTokens   = "id_tokens"
	SearchVehicles   = "vehicles"
	SearchStations   = "stations"
)

// SearchTypes are the types Search knows, in the order it answers them.
var SearchTypes = []string{SearchPurchasers, SearchIdTokens, SearchVehicles, SearchStations}

// SearchResult are a search's hits per type.
type SearchResult struct {
	Purchasers []account.User    // users with role purchaser, by name or e-mail
	IdTokens   []account.IdToken // by uid
	Vehicles   []account.Vehicle // by plate or VIN
	Stations   []StationHit      // by id, name, vendor, model or site name
}

// StationHit is a station found by a search, with its site's name.
type StationHit struct {
	asset.Station
	SiteName string
}

// Repo is the common shape of master-data repositories.
type Repo[T any] interface {
	Create(ctx context.Context, v *T) error
	Get(ctx context.Context, id string) (*T, error)
	Update(ctx context.Context, v *T) error
	// GetBy finds the one record whose indexed field equals value.
	GetBy(ctx context.Context, field, value string) (*T, error)
	List(ctx context.Context, q Query) (items []T, next string, err error)
	// Filterable lists the field names List accepts in Query.Filter.
	Filterable() []string
}

// Tx is everything that can be done inside one transaction.
type Tx interface {
	Sites() Repo[asset.Site]
	Nodes() Repo[asset.Node]
	Stations() Repo[asset.Station]
	EVSEs() Repo[asset.EVSE]
	Connectors() Repo[asset.Connector]
	Devices() Repo[asset.Device]
	Cabinets() Repo[asset.Cabinet]
	Batteries() Repo[asset.Battery]
	Users() Repo[account.User]
	Accounts() Repo[account.Account]
	IdTokens() Repo[account.IdToken]
	Vehicles() Repo[account.Vehicle]
	APITokens() Repo[account.APIToken]
	Groups() Repo[account.Group]
	Audit() Repo[audit.Event]

	Sessions() Repo[charging.Session]
	// SessionByTx finds a station's session by its OCPP transaction id (NotFound if none).
	SessionByTx(ctx context.Context, stationID, txRef string) (*charging.Session, error)
	// SessionByStartKey finds a station's session by its start key (NotFound if none).
	SessionByStartKey(ctx context.Context, stationID, key string) (*charging.Session, error)
	// PrefetchSessions reads in one query the sessions a batch of station messages is about
	// to look up by transaction; SessionByTx then answers those from memory until the
	// transaction writes them. For the refs marked Ending it also reads ahead, a query for
	// all of them, what rating and settling those sessions reads: their meter readings
	// (Readings), their postings (Ledger().ByRef), and their accounts' balances, which it
	// locks (Ledger().Lock). A hint: a store with its own cache of them may ignore it.
	PrefetchSessions(ctx context.Context, refs []SessionRef) error
	// PrefetchToken reads ahead, in a read transaction (View) that goes on to authorize the id
	// token uid, what authorizing reads, in one statement where it can: the balance of the
	// token's account (Balance) with what the store needs to read the token and the account
	// exactly. A hint: a store may ignore it, and it does nothing in a write transaction.
	PrefetchToken(ctx context.Context, uid string) error
	// DeferPostings makes the transaction's ledger postings optimistic, for a batch that runs
	// each of its functions again alone when it fails (app.Batcher): a posting is written with
	// the others at the end (or before a ledger read that needs it), and one whose idempotency
	// key another transaction has posted fails the whole transaction with Conflict, instead of
	// returning that posting. Within the transaction, Post, ByKey and ByRef see the postings
	// held back. A hint: a store may write postings at once.
	DeferPostings()
	// KeyedOnly says that the transaction finds every row it reads or changes by key, for a
	// batch of station messages (app.Batcher), and must be planned that way whatever the
	// tables' statistics say. PostgreSQL plans a batch's look-up of dozens of keys as a scan
	// of the whole table (in parallel workers) while it has no statistics for it: in a new
	// store before autovacuum's first ANALYZE, and after a restore or a major-version upgrade,
	// which carry none; the scan then grows with the table, on every batch. A hint: a store
	// without such a planner ignores it.
	KeyedOnly(ctx context.Context) error
	Events() Repo[charging.StationEvent]
	Commands() Repo[charging.Command]
	CDRs() Repo[billing.CDRRecord]
	// AddReadings stores meter readings (batched).
	AddReadings(ctx context.Context, rs []charging.Reading) error
	// Readings returns a session's readings in time order.
	Readings(ctx context.Context, sessionID string) ([]charging.Reading, error)
	// AddStatus records a status report in the history and, unless older, as the live status.
	AddStatus(ctx context.Context, c charging.StatusChange) error
	// LiveStatus returns the latest status per connector of a station ("" for all).
	LiveStatus(ctx context.Context, stationID string) ([]charging.StatusChange, error)
	// Next increments a named counter and returns its new value (first: 1). Gapless: the
	// counter row is locked until the transaction ends (invoice numbers rely on it).
	Next(ctx context.Context, counter string) (int64, error)
	// NextTransactionNo returns a new OCPP 1.6 transaction id: unique, possibly with gaps, and
	// never a lock that other transactions wait on (a PostgreSQL sequence).
	NextTransactionNo(ctx context.Context) (int64, error)

	// Ledger is the prepaid ledger (see ledger.go).
	Ledger() Ledger
	// Tariffs are stored OCPI tariffs, one row per version (see tariffs.go).
	Tariffs() Tariffs
	Invoices() Invoices
	// Swaps are battery swap orders and battery history (see swap.go).
	Swaps() Swaps
	Cluster() Cluster // node leases, station presence, job leases (see cluster.go)
	// Reports are the summaries reports read (see report.go).
	Reports() Reports

	// Monitor holds alarms, device readings and station presence (see monitor.go).
	Monitor() Monitor

	// Balance is the sum of an account's ledger entries, in minor units.
	Balance(ctx context.Context, accountID string) (int64, error)

	// Search finds purchasers, id tokens, vehicles and stations whose text fields contain
	// q.Text, case-insensitively.
	Search(ctx context.Context, q SearchQuery) (*SearchResult, error)
}

// SessionRef names a session by station and OCPP transaction id. Ending marks a session the
// message may end (a stop, an Ended event), which the batch then reads ahead for. StartKey
// marks one a 1.6 StartTransaction may start (it has no transaction id yet): the batch reads
// ahead whether the station's start key was seen before (SessionByStartKey). IdToken marks a
// start that bills the token's account (that StartTransaction, a 2.x Started event): the
// batch locks the account with the others'.
type SessionRef struct {
	StationID, TxRef string
	Ending           bool
	StartKey         string
	IdToken          string
}
