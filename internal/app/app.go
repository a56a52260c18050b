// Package app holds the use cases: each one runs in one store transaction and applies the
// domain rules. Edges (REST, OCPP, console, CLI) call app; app never knows about them.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

// Clock tells the time; tests inject a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// App is the set of use cases over one store.
type App struct {
	Store store.Store
	Clock Clock
	Log   *slog.Logger
	// Batch commits station messages in groups.
	Batch *Batcher
	// Settings for station operation.
	Settings Settings
	// Commander reaches connected stations; nil until the OCPP server is wired.
	Commander StationCommander
	// SessionEnded runs inside the transaction that ends a session (billing hooks in here),
	// so the session record and what follows from it commit together or not at all.
	SessionEnded []func(ctx context.Context, tx store.Tx, s *charging.Session) error
	// Bus carries events to live views.
	Bus *Bus
	// Leader reports whether this node runs a cluster-wide job now (nil: a single node, always).
	Leader func(ctx context.Context, job string) bool
}

// Settings tune station operation.
type Settings struct {
	HeartbeatInterval time.Duration
	MinBalance        string // decimal, in each account's currency
	HoldAmount        string // decimal: funds held from a prepaid account at session start
}

// New builds the use cases.
func New(s store.Store, clock Clock, log *slog.Logger) *App {
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	// SQLite has one writer, and its commit writes every page the batch dirtied: the larger
	// the batch, the more of its rows share a page (balances, rollups, the sessions' pages and
	// index leaves) and the fewer commits a second. 1,024 against 256, load tool, 1,000
	// stations, alternating runs: 7,471 against 6,283 msgs/s (+19 %). PostgreSQL commits
	// two batches at once and logs rows, not pages; there 1,024 was slower (4,394 / 3,574
	// against 4,576 / 4,120). Two workers, not four (load-ab.sh, 3 alternated pairs): with 100
	// stations four split the waiting messages into small batches that each pay the read-ahead,
	// flush and commit round trips, and two served 110.7 % of the rate at 84.9 % of the CPU
	// per message (server and PostgreSQL); with 1,000, 101.3 % at 92.4 %. One worker left
	// the commit's wait on the critical path: 82 % of two's rate with 100 stations.
	workers, max := 1, 1024
	if s.Dialect() == "postgres" {
		workers, max = 2, 512
	}
	a := &App{Store: s, Clock: clock, Log: log, Batch: NewBatcher(s, workers, max),
		Settings: Settings{HeartbeatInterval: 300 * time.Second, MinBalance: "0", HoldAmount: "20"}, Bus: NewBus()}
	// A terminal payment that arrived before its session ended is reconciled when it ends.
	a.SessionEnded = append(a.SessionEnded, a.SettlementsOnSessionEnd)
	// Every ended session feeds the report summaries, in the same transaction.
	a.EnableReports()
	return a
}

// Close stops background work.
func (a *App) Close() { a.Batch.Close() }

func (a *App) now() time.Time { return a.Clock.Now().UTC().Truncate(time.Microsecond) }

// Actor is who performs a use case.
type Actor struct {
	UserID string
	Role   string
	Scopes []string // an API token's scopes (see ScopeAllows); nil = no narrowing
	// AccountID is a purchaser's own prepaid account: the only one they may act on (see
	// Purchaser self-service in accounts.go). Edges fill it from the signed-in user; it is
	// empty for staff.
	AccountID string
}

// System is the actor of changes EVCS makes by itself.
var System = Actor{UserID: "system", Role: account.RoleAdmin}

type actorKey struct{}

// WithActor stores the actor in ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx (System when none).
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return System
}

// require fails unless the actor in ctx has at least role.
func require(ctx context.Context, role string) error {
	a := ActorFrom(ctx)
	if account.RoleRank(a.Role) < account.RoleRank(role) {
		return errs.E(errs.Forbidden, "requires role %s", role)
	}
	return nil
}

// leads reports whether this node runs job now.
func (a *App) leads(ctx context.Context, job string) bool {
	return a.Leader == nil || a.Leader(ctx, job)
}
