package postgres

import "testing"

func TestPoolSize(t *testing.T) {
	for _, c := range []struct {
		in, dsn string
		n       int
		bad     bool
	}{
		{in: "postgres://u@h:5432/db", dsn: "postgres://u@h:5432/db", n: defaultPool},
		{in: "postgres://u@h:5432/db?sslmode=disable", dsn: "postgres://u@h:5432/db?sslmode=disable", n: defaultPool},
		{in: "postgres://u@h:5432/db?pool_max_conns=12&sslmode=disable", dsn: "postgres://u@h:5432/db?sslmode=disable", n: 12},
		{in: "postgres://u@h:5432/db?pool_max_conns=1", bad: true},
		{in: "postgres://u@h:5432/db?pool_max_conns=lots", bad: true},
	} {
		dsn, n, err := poolSize(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%s: want an error, got %q %d", c.in, dsn, n)
			}
			continue
		}
		if err != nil || dsn != c.dsn || n != c.n {
			t.Errorf("%s: got %q %d %v, want %q %d", c.in, dsn, n, err, c.dsn, c.n)
		}
	}
}
