package sqlstore

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evcs/evcs/internal/errs"
)

// A statement profile times the statements that the transactions of every store in this
// process run (InTx and View), by statement text, from EVCS's side: how long each took to its first result (rows read after that are not
// counted), waits for the connection's CPU included. PostgreSQL's pg_stat_statements needs a
// server setting and sees only the server's side; SQLite has nothing like it. Off (the normal
// state), a statement pays one atomic load for it. A pipelined statement (pipe.go: on
// PostgreSQL a batch's read-ahead and end) counts from when it was queued to when its outcome
// came back, so the statements of one pipeline overlap: their times add up to more than the
// transactions took.
//
// Multi-row statements of one kind differ only in their VALUES and IN lists; the profile folds
// those lists to "(…)" (and a statement written over several lines onto one), so each kind is
// one line.

// StatementTime is one statement text's share of a profile.
type StatementTime struct {
	Statement string
	Calls     int64
	Total     time.Duration
}

// StatementProfile is a running profile (StartStatementProfile).
type StatementProfile struct {
	mu    sync.Mutex
	byRaw map[string]*StatementTime
	since time.Time
}

var stmtProfile atomic.Pointer[StatementProfile]

// StartStatementProfile starts timing statements. One profile runs at a time: while one runs,
// another start is a Conflict.
func StartStatementProfile() (*StatementProfile, error) {
	p := &StatementProfile{byRaw: make(map[string]*StatementTime), since: time.Now()}
	if !stmtProfile.CompareAndSwap(nil, p) {
		return nil, errs.E(errs.Conflict, "a statement profile is already running")
	}
	return p, nil
}

// Stop ends the profile and returns its statements, folded, most total time first, and how
// long it ran. Statements that end after it are not counted.
func (p *StatementProfile) Stop() ([]StatementTime, time.Duration) {
	stmtProfile.CompareAndSwap(p, nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	folded := make(map[string]*StatementTime, len(p.byRaw))
	for raw, st := range p.byRaw {
		k := foldStatement(raw)
		f := folded[k]
		if f == nil {
			f = &StatementTime{Statement: k}
			folded[k] = f
		}
		f.Calls += st.Calls
		f.Total += st.Total
	}
	p.byRaw = nil
	out := make([]StatementTime, 0, len(folded))
	for _, f := range folded {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b StatementTime) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.Statement, b.Statement))
	})
	return out, time.Since(p.since)
}

func (p *StatementProfile) add(q string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byRaw == nil {
		return // stopped
	}
	st := p.byRaw[q]
	if st == nil {
		st = &StatementTime{}
		p.byRaw[q] = st
	}
	st.Calls++
	st.Total += d
}

// timeStatement starts timing a statement if a profile runs; call the returned func when it
// has its first result.
func timeStatement(q string) func() {
	p := stmtProfile.Load()
	if p == nil {
		return noop
	}
	t0 := time.Now()
	return func() { p.add(q, time.Since(t0)) }
}

func noop() {}

// foldStatement puts a statement on one line and replaces each of its VALUES and IN lists by
// "(…)".
func foldStatement(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	var b strings.Builder
	for {
		i, skip := nextList(q)
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		b.WriteString(q[:i+skip])
		b.WriteString("(…)")
		q = q[endOfList(q, i+skip):]
	}
}

// nextList finds the next "VALUES (" or "IN (" in q: the keyword's index and the length up to
// its first parenthesis, or -1.
func nextList(q string) (int, int) {
	v := strings.Index(q, "VALUES (")
	in := strings.Index(q, "IN (")
	switch {
	case v < 0 && in < 0:
		return -1, 0
	case in < 0 || (v >= 0 && v < in):
		return v, len("VALUES ")
	}
	return in, len("IN ")
}

// endOfList returns where the list of parenthesised groups starting at q[i] ("(…), (…)") ends.
func endOfList(q string, i int) int {
	for i < len(q) && q[i] == '(' {
		depth := 0
		for ; i < len(q); i++ {
			if q[i] == '(' {
				depth++
			} else if q[i] == ')' {
				if depth--; depth == 0 {
					i++
					break
				}
			}
		}
		if !strings.HasPrefix(q[i:], ", (") {
			break
		}
		i += len(", ")
	}
	return i
}
