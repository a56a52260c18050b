package app_test

import (
	"errors"
	"testing"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/storetest"
)

func countAll[T, I any](t *testing.T, a *app.App, r *app.Resource[T, I], filter map[string]string) int {
	t.Helper()
	var n int
	err := a.Store.View(bg, func(tx store.Tx) error {
		items, err := app.ListAllIn(bg, tx, r, filter)
		n = len(items)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateInSharesTheCallersTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		boom := errors.New("boom")
		err := s.InTx(bg, func(tx store.Tx) error {
			site, err := app.CreateIn(bg, f.a, tx, app.Sites, asset.SiteFields{Name: "A", TimeZone: "Europe/Amsterdam"})
			if err != nil {
				return err
			}
			if _, err := app.CreateIn(bg, f.a, tx, app.Stations, app.StationInput{ID: "CP-1", StationFields: asset.StationFields{SiteID: site.ID}}); err != nil {
				return err
			}
			return boom // roll both back
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if n := countAll(t, f.a, app.Sites, nil); n != 0 {
			t.Fatalf("%d sites after a rolled-back transaction", n)
		}
		// And a field error names the field, as Create's does.
		err = s.InTx(bg, func(tx store.Tx) error {
			_, err := app.CreateIn(bg, f.a, tx, app.Sites, asset.SiteFields{Name: "A", TimeZone: "Mars/Olympus"})
			return err
		})
		if errs.FieldOf(err) != "time_zone" {
			t.Fatalf("err = %v, want a time_zone error", err)
		}
	})
}

func TestImportIsAllOrNothingAndReportsEveryBadRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		rows := []app.ImportRow[asset.SiteFields]{
			{Line: 2, ID: "site_A", In: asset.SiteFields{Name: "A", TimeZone: "Europe/Amsterdam"}},
			{Line: 3, In: asset.SiteFields{Name: "B", TimeZone: "Nowhere/Land"}},
			{Line: 4, In: asset.SiteFields{Name: "C", TimeZone: "UTC"}, Status: "sleeping"},
			{Line: 5, In: asset.SiteFields{Name: "", TimeZone: "UTC"}},
		}
		res, err := app.Import(operator, f.a, app.Sites, "sites", rows, app.ImportOptions{})
		var ie *app.ImportError
		if !errors.As(err, &ie) || !errs.Is(err, errs.Invalid) {
			t.Fatalf("err = %v (%T), want an Invalid *ImportError", err, err)
		}
		want := []app.RowError{{Line: 3, Field: "time_zone"}, {Line: 4, Field: "status"}, {Line: 5, Field: "name"}}
		if len(ie.Errors) != len(want) {
			t.Fatalf("errors = %+v", ie.Errors)
		}
		for i, w := range want {
			if g := ie.Errors[i]; g.Line != w.Line || g.Field != w.Field || g.Message == "" {
				t.Errorf("error %d = %+v, want line %d field %s", i, g, w.Line, w.Field)
			}
		}
		if res.Created != 0 || countAll(t, f.a, app.Sites, nil) != 0 {
			t.Fatalf("a failed import created something: %+v", res)
		}

		// The good rows alone: ids kept, status applied, one audit event per record.
		rows = []app.ImportRow[asset.SiteFields]{rows[0], {Line: 3, ID: "site_B", Status: "inactive", In: asset.SiteFields{Name: "B", TimeZone: "UTC"}}}
		if res, err = app.Import(operator, f.a, app.Sites, "sites", rows, app.ImportOptions{}); err != nil || res.Created != 2 {
			t.Fatalf("import: %+v %v", res, err)
		}
		b, err := app.Get(bg, f.a, app.Sites, "site_B")
		if err != nil || b.Status != "inactive" || b.Name != "B" {
			t.Fatalf("site_B = %+v, %v", b, err)
		}
		var events int
		_ = s.View(bg, func(tx store.Tx) error {
			items, _, err := tx.Audit().List(bg, store.Query{Filter: map[string]string{"entity_id": "site_B"}})
			events = len(items)
			return err
		})
		if events != 1 {
			t.Fatalf("%d audit events for site_B", events)
		}

		// Importing the same ids again conflicts on the id column, and changes nothing.
		_, err = app.Import(operator, f.a, app.Sites, "sites", rows, app.ImportOptions{})
		if !errors.As(err, &ie) || len(ie.Errors) != 2 || ie.Errors[0].Field != "id" {
			t.Fatalf("re-import: %v", err)
		}
	})
}

func TestImportDryRunAndRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s store.Store) {
		f := newFixture(t, s)
		rows := []app.ImportRow[app.UserInput]{{Line: 2, ID: "usr_1", AccountID: "acc_1", CreditLimit: "0.00",
			In: app.UserInput{Currency: "EUR", UserFields: account.UserFields{Name: "Ada", Email: "ada@example.com", Role: account.RolePurchaser}}}}
		var steps []string
		res, err := app.Import(operator, f.a, app.Users, "purchasers", rows, app.ImportOptions{DryRun: true,
			Progress: func(stage string, done, total int) { steps = append(steps, stage) }})
		if err != nil || !res.DryRun || res.Created != 0 {
			t.Fatalf("dry run: %+v %v", res, err)
		}
		if len(steps) != 2 || steps[0] != "check" || steps[1] != "write" {
			t.Fatalf("progress stages %v", steps)
		}
		if n := countAll(t, f.a, app.Users, nil); n != 0 {
			t.Fatalf("a dry run stored %d users", n)
		}
		if _, err := app.Import(viewer, f.a, app.Users, "purchasers", rows, app.ImportOptions{}); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("viewer import: %v", err)
		}
		// A credit limit is an admin's decision.
		limited := rows[0]
		limited.CreditLimit = "10.00"
		_, err = app.Import(operator, f.a, app.Users, "purchasers", []app.ImportRow[app.UserInput]{limited}, app.ImportOptions{})
		var ie *app.ImportError
		if !errors.As(err, &ie) || ie.Errors[0].Field != "credit_limit" {
			t.Fatalf("operator credit limit: %v", err)
		}
		if _, err := app.Import(bg, f.a, app.Users, "purchasers", []app.ImportRow[app.UserInput]{limited}, app.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		acc, err := f.a.GetAccount(bg, "acc_1")
		if err != nil || acc.UserID != "usr_1" || acc.CreditLimit != 1000 || acc.Currency != "EUR" {
			t.Fatalf("account = %+v, %v", acc, err)
		}
	})
}
