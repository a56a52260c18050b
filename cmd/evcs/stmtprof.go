package main

import (
	"fmt"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store/sqlstore"
)

// maxStatementSeconds bounds /debug/statements' seconds.
const maxStatementSeconds = 300

// /debug/statements times the store's statements for ?seconds=N (default 10, at most 300; a
// client that goes away ends it early) and answers a table of them by statement text, most
// total time first: which statements the database's time goes to, on SQLite as on PostgreSQL.
// Admins only, like /debug/pprof (a statement's text shows the schema).
//
//	curl -H "Authorization: Bearer $EVCS_ADMIN_TOKEN" 'http://HOST/debug/statements?seconds=15'
func init() {
	mounts = append(mounts, func(m *Main, r chi.Router) {
		r.With(adminOnly(m.App)).Get("/debug/statements", func(w http.ResponseWriter, r *http.Request) {
			secs := 10
			if v := r.URL.Query().Get("seconds"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > maxStatementSeconds {
					http.Error(w, fmt.Sprintf("seconds must be a whole number from 1 to %d", maxStatementSeconds), http.StatusBadRequest)
					return
				}
				secs = n
			}
			p, err := sqlstore.StartStatementProfile()
			if errs.Is(err, errs.Conflict) {
				http.Error(w, errs.Message(err), http.StatusConflict)
				return
			}
			if err != nil {
				http.Error(w, errs.Message(err), http.StatusInternalServerError)
				return
			}
			t := time.NewTimer(time.Duration(secs) * time.Second)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
			stmts, took := p.Stop()
			writeStatementTable(w, stmts, took)
		})
	})
}

func writeStatementTable(w http.ResponseWriter, stmts []sqlstore.StatementTime, took time.Duration) {
	var total time.Duration
	var calls int64
	for _, s := range stmts {
		total += s.Total
		calls += s.Calls
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "store statements over %s: %d calls, %s in all (time to first result)\n\n", took.Round(time.Millisecond), calls, total.Round(time.Microsecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "total\tshare\tcalls\tmean\t\tstatement")
	for _, s := range stmts {
		share := 0.0
		if total > 0 {
			share = 100 * float64(s.Total) / float64(total)
		}
		fmt.Fprintf(tw, "%s\t%.1f%%\t%d\t%s\t\t%s\n", s.Total.Round(time.Microsecond), share, s.Calls, (s.Total / time.Duration(s.Calls)).Round(time.Microsecond), s.Statement)
	}
	tw.Flush()
}
