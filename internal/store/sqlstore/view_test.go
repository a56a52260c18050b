package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/evcs/evcs/internal/asset"
	"github.com/evcs/evcs/internal/report"
	"github.com/evcs/evcs/internal/store"
	"github.com/evcs/evcs/internal/store/sqlstore"
	"github.com/evcs/evcs/internal/store/storetest"
)

// TestViewReadOnly: a View reads and never writes. SQLite's readers refuse a write, which is
// the guard for both engines (the code is shared; PostgreSQL's Views run outside a
// transaction block, so nothing there would refuse it). A View's report that needs a session
// setting for its one query leaves the pooled connection as it found it.
func TestViewReadOnly(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	storetest.Each(t, func(t *testing.T, s store.Store) {
		db := s.(*sqlstore.DB)
		site := asset.Site{ID: "site_v", SiteFields: asset.SiteFields{Name: "V", TimeZone: "UTC"}, Status: asset.Active, CreatedAt: now, UpdatedAt: now}
		write(t, s, func(tx store.Tx) error { return tx.Sites().Create(ctx, &site) })
		var got *asset.Site
		read(t, s, func(tx store.Tx) (err error) { got, err = tx.Sites().Get(ctx, "site_v"); return })
		if got == nil || got.Name != "V" {
			t.Fatalf("read in a View: %+v", got)
		}
		if db.Dialect() != "postgres" {
			other := site
			other.ID = "site_w"
			if err := s.View(ctx, func(tx store.Tx) error { return tx.Sites().Create(ctx, &other) }); err == nil {
				t.Fatal("a View wrote")
			}
			return
		}
		q := store.ReportQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour), Dim: report.Purchaser, PageLimit: 10}
		mode, err := db.ViewShow(ctx, func(tx store.Tx) error { _, err := tx.Reports().SessionSums(ctx, q); return err }, "plan_cache_mode")
		if err != nil || mode != "auto" {
			t.Errorf("plan_cache_mode after a paged purchaser report in a View: %q %v, want auto", mode, err)
		}
	})
}
