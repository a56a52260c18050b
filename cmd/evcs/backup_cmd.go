package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcs/evcs/internal/config"
)

func init() { extraCommands = append(extraCommands, newBackupCmd) }

// newBackupCmd is `evcs backup`: an online, consistent copy of a SQLite store. PostgreSQL is
// backed up with pg_dump; the command prints how and fails, so a script never mistakes it for a
// backup taken.
func newBackupCmd() *cobra.Command {
	var dsn, out string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Copy a SQLite store to a file while EVCS runs (PostgreSQL: prints the pg_dump recipe)",
		Long: "Copy a SQLite store to --out while EVCS keeps running: SQLite's VACUUM INTO writes a consistent\n" +
			"snapshot (one read transaction) into a new file, which is checked before it is put in place.\n" +
			"The copy is a complete store: run `evcs serve --db sqlite:FILE` on it to restore.\n\n" +
			"PostgreSQL stores are backed up with PostgreSQL's own tools; for a postgres:// --db the command\n" +
			"prints the pg_dump and pg_restore commands and exits non-zero.",
		Example: "  evcs backup --db sqlite:/var/lib/evcs/evcs.db --out /var/backups/evcs-$(date +%F).db",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn = dbFromEnv(cmd, dsn)
			if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
				fmt.Fprint(cmd.ErrOrStderr(), pgDumpRecipe(dsn))
				return errors.New("backup: PostgreSQL is backed up with pg_dump (recipe above); nothing was written")
			}
			if out == "" {
				return errors.New("--out is required: the file to write the copy to")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			start := time.Now()
			n, err := backupSQLite(ctx, dsn, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backed up %s to %s (%d bytes, %s)\n", dsn, out, n, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&dsn, "db", config.DefaultDB, "store: sqlite:PATH (or EVCS_DB); postgres://… prints the pg_dump recipe")
	cmd.Flags().StringVar(&out, "out", "", "file to write the copy to (must not exist)")
	return cmd
}

// backupSQLite snapshots the store at dsn into out and returns the copy's size. The source is
// opened read-only (never migrated): a backup must not change what it copies.
func backupSQLite(ctx context.Context, dsn, out string) (int64, error) {
	if _, err := os.Stat(out); err == nil {
		return 0, fmt.Errorf("--out %s exists: pick a new name (a backup never overwrites)", out)
	}
	src, _, err := openReadOnly(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	// VACUUM INTO a temporary name beside out, check it, then rename: out is either a whole,
	// checked copy or absent.
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	_ = os.Remove(tmp)
	defer os.Remove(tmp)
	abs, err := filepath.Abs(tmp)
	if err != nil {
		return 0, err
	}
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		return 0, fmt.Errorf("backup: %v", oneLineErr(err))
	}
	if err := checkSQLiteFile(ctx, abs); err != nil {
		return 0, fmt.Errorf("backup: the copy does not check out: %v", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// checkSQLiteFile runs SQLite's integrity check on a file.
func checkSQLiteFile(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return errors.New(res)
	}
	return nil
}

// pgDumpRecipe is how to back up and restore a PostgreSQL store. libpq does not take pgx's
// search_path parameter, so a schema in the DSN becomes --schema.
func pgDumpRecipe(dsn string) string {
	schema := ""
	if u, err := url.Parse(dsn); err == nil {
		q := u.Query()
		schema = q.Get("search_path")
		q.Del("search_path")
		u.RawQuery = q.Encode()
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.User(u.User.Username()) // give the password in PGPASSWORD or ~/.pgpass
			}
		}
		dsn = u.String()
	}
	schemaFlag := ""
	if schema != "" {
		schemaFlag = " --schema=" + schema
	}
	var b strings.Builder
	w := io.Writer(&b)
	fmt.Fprintln(w, "evcs backup copies SQLite stores. Back up PostgreSQL with pg_dump (online and consistent: one snapshot):")
	fmt.Fprintf(w, "  pg_dump --format=custom --no-owner%s --file=evcs-$(date +%%F).dump '%s'\n", schemaFlag, dsn)
	fmt.Fprintln(w, "Restore into an empty database, then start evcs on it:")
	fmt.Fprintf(w, "  pg_restore --no-owner --exit-on-error --dbname='%s' evcs-YYYY-MM-DD.dump\n", dsn)
	fmt.Fprintln(w, "Give the password in PGPASSWORD or ~/.pgpass; use pg_dump from the server's major version or newer.")
	return b.String()
}
