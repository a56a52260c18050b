package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// heldFixture stores a site, stations CP-HR0…CP-HR2, accounts acc_hr0 and acc_hr1 with id
// tokens TOK-HR0 and TOK-HR1, and one stored session at CP-HR0 with transaction 1 and start
// key "CP-HR0|old".
func heldFixture(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		site := asset.Site{ID: "site_hr", SiteFields: asset.SiteFields{Name: "HR", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		err := tx.Sites().Create(ctx, &site)
		for i := range 3 {
			st := asset.Station{ID: fmt.Sprintf("CP-HR%d", i), StationFields: asset.StationFields{SiteID: "site_hr", Kind: asset.KindAC}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
			err = errors.Join(err, tx.Stations().Create(ctx, &st))
		}
		for i := range 2 {
			a := account.Account{ID: fmt.Sprintf("acc_hr%d", i), Currency: "EUR", Status: account.Active, CreatedAt: now, UpdatedAt: now}
			tok := account.IdToken{ID: fmt.Sprintf("tok_hr%d", i), IdTokenFields: account.IdTokenFields{UID: fmt.Sprintf("TOK-HR%d", i), Type: "ISO14443", AccountID: a.ID, Status: "active"}, CreatedAt: now, UpdatedAt: now}
			err = errors.Join(err, tx.Accounts().Create(ctx, &a), tx.IdTokens().Create(ctx, &tok))
		}
		old := heldSession("ses_hr_old", "CP-HR0", "1", "CP-HR0|old", now)
		return errors.Join(err, tx.Sessions().Create(ctx, old))
	})
}

// statements is how many statements the process's stores have run so far.
func statements() int64 { n, _ := sqlstore.Counts(); return n }

func heldSession(id, station, txRef, startKey string, now time.Time) *charging.Session {
	return &charging.Session{ID: id, StationID: station, EVSENo: 1, TxRef: txRef, StartKey: startKey, Kind: charging.KindCharge,
		Status: charging.Active, StartedAt: now, UpdatedAt: now}
}

// TestHeldInserts: a transaction holds its new sessions and CDRs back and inserts them together,
// a statement per table, at its end or before it next reads that table; meanwhile it finds
// them itself (by transaction, by start key, by id), and an update of one goes into its insert.
// A second row with the same id or start key is a Conflict at once; a key another transaction
// stored fails the commit with Conflict, and nothing of the transaction is stored.
func TestHeldInserts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		heldFixture(t, s, now)
		write(t, s, func(tx store.Tx) error {
			n0 := statements()
			a := heldSession("ses_hr_a", "CP-HR1", "10", "CP-HR1|a", now)
			b := heldSession("ses_hr_b", "CP-HR2", "11", "CP-HR2|b", now)
			for _, v := range []*charging.Session{a, b} {
				if err := tx.Sessions().Create(ctx, v); err != nil {
					return err
				}
			}
			cdr := billing.CDRRecord{ID: "cdr_hr_a", SessionID: "ses_hr_a", StationID: "CP-HR1", Currency: "EUR", TotalMinor: 120, CreatedAt: now, CDR: []byte(`{}`)}
			if err := tx.CDRs().Create(ctx, &cdr); err != nil {
				return err
			}
			if got, err := tx.CDRs().Get(ctx, "cdr_hr_a"); err != nil || got.TotalMinor != 120 {
				t.Errorf("CDR created in the transaction: %+v, %v", got, err)
			}
			// Updates of rows not yet written go into their inserts.
			a.EnergyWh, a.Status = 7500, charging.Completed
			if err := tx.Sessions().Update(ctx, a); err != nil {
				return err
			}
			cdr.TotalMinor = 150
			if err := tx.CDRs().Update(ctx, &cdr); err != nil {
				return err
			}
			if n := statements() - n0; n != 0 {
				t.Errorf("creating and updating held-back rows took %d statements, want 0", n)
			}
			// A second row with a held-back id or start key is refused at once.
			if err := tx.Sessions().Create(ctx, heldSession("ses_hr_a", "CP-HR1", "12", "", now)); !errs.Is(err, errs.Conflict) {
				t.Errorf("second session ses_hr_a: %v, want Conflict", err)
			}
			if err := tx.Sessions().Create(ctx, heldSession("ses_hr_c", "CP-HR2", "13", "CP-HR2|b", now)); !errs.Is(err, errs.Conflict) {
				t.Errorf("second session with start key CP-HR2|b: %v, want Conflict", err)
			}
			if err := tx.CDRs().Create(ctx, &billing.CDRRecord{ID: "cdr_hr_a", SessionID: "ses_hr_x", StationID: "CP-HR1", Currency: "EUR", CreatedAt: now}); !errs.Is(err, errs.Conflict) {
				t.Errorf("second CDR cdr_hr_a: %v, want Conflict", err)
			}
			// By start key: the session created here; then by transaction, which writes it.
			if got, err := tx.SessionByStartKey(ctx, "CP-HR2", "CP-HR2|b"); err != nil || got.ID != "ses_hr_b" {
				t.Errorf("SessionByStartKey(CP-HR2|b) = %v, %v; want ses_hr_b", got, err)
			}
			if got, err := tx.SessionByTx(ctx, "CP-HR1", "10"); err != nil || got.ID != "ses_hr_a" || got.EnergyWh != 7500 {
				t.Errorf("SessionByTx(CP-HR1, 10) = %+v, %v; want ses_hr_a with 7500 Wh", got, err)
			}
			// Listing sessions writes the held-back ones first: both in one statement.
			n1 := statements()
			items, _, err := tx.Sessions().List(ctx, store.Query{Filter: map[string]string{"status": charging.Completed}, Limit: 10})
			if err != nil {
				return err
			}
			if len(items) != 1 || items[0].ID != "ses_hr_a" {
				t.Errorf("completed sessions: %v, want ses_hr_a (its status column as updated)", items)
			}
			if n := statements() - n1; n > 2 {
				t.Errorf("writing two held-back sessions and listing took %d statements, want at most 2", n)
			}
			if got, err := tx.SessionByStartKey(ctx, "CP-HR2", "CP-HR2|b"); err != nil || got.ID != "ses_hr_b" {
				t.Errorf("SessionByStartKey(CP-HR2|b) after writing = %v, %v; want ses_hr_b", got, err)
			}
			// GetBy on CDRs writes the held-back CDR first.
			if got, err := tx.CDRs().GetBy(ctx, "session_id", "ses_hr_a"); err != nil || got.TotalMinor != 150 {
				t.Errorf("CDR by session: %+v, %v; want cdr_hr_a at 150", got, err)
			}
			return nil
		})
		read(t, s, func(tx store.Tx) error {
			if got, err := tx.Sessions().Get(ctx, "ses_hr_a"); err != nil || got.EnergyWh != 7500 || got.Status != charging.Completed {
				t.Errorf("stored ses_hr_a: %+v, %v", got, err)
			}
			if got, err := tx.CDRs().Get(ctx, "cdr_hr_a"); err != nil || got.TotalMinor != 150 {
				t.Errorf("stored cdr_hr_a: %+v, %v", got, err)
			}
			return nil
		})

		// A transaction id another transaction stored: the commit fails with Conflict, and
		// neither of this transaction's sessions nor its CDR is stored.
		err := s.InTx(ctx, func(tx store.Tx) error {
			err := errors.Join(tx.Sessions().Create(ctx, heldSession("ses_hr_d", "CP-HR1", "20", "", now)),
				tx.Sessions().Create(ctx, heldSession("ses_hr_e", "CP-HR0", "1", "", now)))
			return errors.Join(err, tx.CDRs().Create(ctx, &billing.CDRRecord{ID: "cdr_hr_d", SessionID: "ses_hr_d", StationID: "CP-HR1", Currency: "EUR", CreatedAt: now, CDR: []byte(`{}`)}))
		})
		if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "create session") {
			t.Errorf("session with a stored transaction id: %v, want Conflict from create session", err)
		}
		read(t, s, func(tx store.Tx) error {
			for _, id := range []string{"ses_hr_d", "ses_hr_e"} {
				if _, err := tx.Sessions().Get(ctx, id); !errs.Is(err, errs.NotFound) {
					t.Errorf("%s after the failed commit: %v, want NotFound", id, err)
				}
			}
			if _, err := tx.CDRs().Get(ctx, "cdr_hr_d"); !errs.Is(err, errs.NotFound) {
				t.Errorf("cdr_hr_d after the failed commit: %v, want NotFound", err)
			}
			return nil
		})
	})
}

// TestReadAheadForStarts: PrefetchSessions reads, for the refs that may start a session,
// whether their start keys were seen (a statement) and locks their tokens' accounts (a
// statement, with the accounts of the sessions ending). SessionByStartKey, Balance and Lock
// then answer without a statement; a key read ahead as unseen that the transaction then uses
// is found from then on; an unknown token locks nothing.
func TestReadAheadForStarts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		heldFixture(t, s, now)
		refs := []store.SessionRef{
			{StationID: "CP-HR0", StartKey: "CP-HR0|old", IdToken: "TOK-HR0"},
			{StationID: "CP-HR1", StartKey: "CP-HR1|new", IdToken: "TOK-HR1"},
			{StationID: "CP-HR2", StartKey: "CP-HR2|new", IdToken: "TOK-HRX"}, // an unknown token
			{StationID: "CP-HR2", StartKey: "CP-HR2|other", IdToken: "TOK-HR0"},
		}
		write(t, s, func(tx store.Tx) error {
			// The master-data cache reads its versions once a transaction, and a token when
			// first asked for: do that first, as the Authorize before a start has.
			for _, uid := range []string{"TOK-HR0", "TOK-HR1"} {
				if _, err := tx.IdTokens().GetBy(ctx, "uid", uid); err != nil {
					return err
				}
			}
			n0 := statements()
			if err := tx.PrefetchSessions(ctx, refs); err != nil {
				return err
			}
			n1 := statements()
			if n := n1 - n0; n != 3 {
				t.Errorf("reading ahead for starts took %d statements, want 3 (start keys, locks, the unknown token)", n)
			}
			for _, c := range []struct{ station, key string }{{"CP-HR1", "CP-HR1|new"}, {"CP-HR2", "CP-HR2|new"}, {"CP-HR2", "CP-HR2|other"}} {
				if _, err := tx.SessionByStartKey(ctx, c.station, c.key); !errs.Is(err, errs.NotFound) {
					t.Errorf("SessionByStartKey(%s) = %v, want NotFound", c.key, err)
				}
			}
			for _, acc := range []string{"acc_hr0", "acc_hr1"} {
				if err := tx.Ledger().Lock(ctx, acc); err != nil {
					return err
				}
				if bal, err := tx.Balance(ctx, acc); err != nil || bal != 0 {
					t.Errorf("balance of %s: %d, %v", acc, bal, err)
				}
			}
			if n := statements() - n1; n != 0 {
				t.Errorf("answers read ahead took %d statements, want 0", n)
			}
			if got, err := tx.SessionByStartKey(ctx, "CP-HR0", "CP-HR0|old"); err != nil || got.ID != "ses_hr_old" {
				t.Errorf("SessionByStartKey(CP-HR0|old) = %v, %v; want ses_hr_old", got, err)
			}
			// A key read ahead as unseen, now used: found, before and after it is written.
			if err := tx.Sessions().Create(ctx, heldSession("ses_hr_new", "CP-HR1", "30", "CP-HR1|new", now)); err != nil {
				return err
			}
			if got, err := tx.SessionByStartKey(ctx, "CP-HR1", "CP-HR1|new"); err != nil || got.ID != "ses_hr_new" {
				t.Errorf("SessionByStartKey(CP-HR1|new) once created = %v, %v; want ses_hr_new", got, err)
			}
			if got, err := tx.SessionByStartKey(ctx, "CP-HR1", "CP-HR1|new"); err != nil || got.ID != "ses_hr_new" {
				t.Errorf("SessionByStartKey(CP-HR1|new) once written = %v, %v; want ses_hr_new", got, err)
			}
			return nil
		})
	})
}
