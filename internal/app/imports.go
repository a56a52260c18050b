package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/ids"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

// CreateIn stores a new record from its input inside the caller's transaction: what Create
// does, for use cases that create many records all-or-nothing (bulk import). The caller checks
// the role.
func CreateIn[T, I any](ctx context.Context, a *App, tx store.Tx, r *Resource[T, I], in I) (*T, error) {
	v, err := buildNew(ctx, a, tx, r, in, "")
	if err != nil {
		return nil, errs.Wrap("create "+r.Name, err)
	}
	return v, errs.Wrap("create "+r.Name, storeNew(ctx, a, tx, r, in, v))
}

// buildNew checks in and returns the record to store, with id (or, when id is "", the input's
// own id or a generated one).
func buildNew[T, I any](ctx context.Context, a *App, tx store.Tx, r *Resource[T, I], in I, id string) (*T, error) {
	if id == "" {
		if r.InputID != nil {
			id = r.InputID(in)
		} else {
			id = ids.New(r.Prefix)
		}
	}
	return r.Build(ctx, tx, in, nil, id, a.now())
}

// storeNew writes a built record, what follows from it (AfterCreate) and its audit event.
func storeNew[T, I any](ctx context.Context, a *App, tx store.Tx, r *Resource[T, I], in I, v *T) error {
	if err := r.Repo(tx).Create(ctx, v); err != nil {
		return err
	}
	if r.AfterCreate != nil {
		if err := r.AfterCreate(ctx, tx, v, in); err != nil {
			return err
		}
	}
	id, _, _ := r.Meta(v)
	return a.record(ctx, tx, "create", r.Name, *id, nil, v)
}

// ImportRow is one record of a bulk import, as a file row parsed into the resource's input.
type ImportRow[I any] struct {
	Line int // where the row is in its file, for errors
	// ID keeps the record's id across an export and an import; "" generates one (stations
	// carry their OCPP identity in the input instead).
	ID string
	// Status is active or inactive ("" = active), for resources whose status is not an input.
	Status string
	In     I
	// Purchasers only: the prepaid account's id ("" = generated) and credit limit ("" = none).
	AccountID, CreditLimit string
}

// RowError is what is wrong with one row of an import.
type RowError struct {
	Line    int    `json:"line" doc:"line (CSV) or row (XLSX) in the file; 1 is the header"`
	Field   string `json:"field,omitempty" doc:"the column the error is about"`
	Message string `json:"message"`
}

// ImportError lists every bad row of an import that changed nothing. It is an Invalid error.
type ImportError struct {
	Errors []RowError
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid row(s), nothing imported", len(e.Errors))
	for _, r := range e.Errors {
		fmt.Fprintf(&b, "\nline %d", r.Line)
		if r.Field != "" {
			fmt.Fprintf(&b, ", %s", r.Field)
		}
		fmt.Fprintf(&b, ": %s", r.Message)
	}
	return b.String()
}

// Unwrap gives the error its kind (Invalid) for the edges' status mapping.
func (e *ImportError) Unwrap() error {
	return errs.E(errs.Invalid, "%d invalid row(s), nothing imported", len(e.Errors))
}

// ImportOptions tune an import.
type ImportOptions struct {
	DryRun bool // check and write everything, then roll back
	// Progress, when set, is told how far each stage ("check", "write") is.
	Progress func(stage string, done, total int)
	// FieldName maps an input field ("address.country") to the column the file calls it.
	FieldName func(field string) string
}

// ImportResult says what an import did.
type ImportResult struct {
	Kind    string `json:"kind"`
	Rows    int    `json:"rows"`
	Created int    `json:"created" doc:"records created (0 on a dry run)"`
	DryRun  bool   `json:"dry_run"`
}

var errDryRun = errors.New("dry run")

// importIDPattern is what an imported id may look like: generated ids and OCPP identities fit.
var importIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:*+|@-]{0,99}$`)

// Import creates every row's record in one transaction: all rows are checked first (each row's
// problems are collected with its line), and nothing is written unless every row is good. A
// row's record keeps its id when the row gives one, so an export imported into an empty store
// reproduces the same records.
func Import[T, I any](ctx context.Context, a *App, r *Resource[T, I], kind string, rows []ImportRow[I], opt ImportOptions) (ImportResult, error) {
	res := ImportResult{Kind: kind, Rows: len(rows), DryRun: opt.DryRun}
	if err := require(ctx, r.WriteRole); err != nil {
		return res, errs.Wrap("import "+kind, err)
	}
	name := opt.FieldName
	if name == nil {
		name = func(f string) string { return f }
	}
	progress := opt.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		built := make([]*T, len(rows))
		var bad []RowError
		rowErr := func(line int, err error) error {
			k := errs.KindOf(err)
			if k != errs.Invalid && k != errs.Conflict && k != errs.NotFound && errs.FieldOf(err) == "" {
				return fmt.Errorf("line %d: %w", line, err)
			}
			bad = append(bad, RowError{Line: line, Field: name(errs.FieldOf(err)), Message: fieldless(err)})
			return nil
		}
		for i, row := range rows {
			v, err := importBuild(ctx, a, tx, r, row)
			if err != nil {
				if err := rowErr(row.Line, err); err != nil {
					return err
				}
			}
			built[i] = v
			if i%500 == 499 || i == len(rows)-1 {
				progress("check", i+1, len(rows))
			}
		}
		if len(bad) > 0 {
			return &ImportError{Errors: bad}
		}
		for i, row := range rows {
			if err := importStore(ctx, a, tx, r, row, built[i]); err != nil {
				// A write refused here (e.g. a unique index) may abort the transaction on
				// PostgreSQL: report this row and stop.
				if err := rowErr(row.Line, err); err != nil {
					return err
				}
				return &ImportError{Errors: bad}
			}
			if i%500 == 499 || i == len(rows)-1 {
				progress("write", i+1, len(rows))
			}
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return res, nil
	}
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			return res, ie
		}
		return res, errs.Wrap("import "+kind, err)
	}
	res.Created = len(rows)
	return res, nil
}

// fieldless is an error's message without its field prefix (the field has a column of its own).
func fieldless(err error) string {
	m := errs.Message(err)
	if f := errs.FieldOf(err); f != "" {
		m = strings.TrimPrefix(m, f+": ")
	}
	return m
}

func importBuild[T, I any](ctx context.Context, a *App, tx store.Tx, r *Resource[T, I], row ImportRow[I]) (*T, error) {
	id := row.ID
	if id != "" {
		if !importIDPattern.MatchString(id) {
			return nil, errs.Field("id", "%q is not an id (letters, digits and _.:-, up to 100)", id)
		}
		if _, err := r.Repo(tx).Get(ctx, id); err == nil {
			return nil, &errs.Error{Kind: errs.Conflict, Field: "id", Msg: fmt.Sprintf("%s %s already exists", r.Name, id)}
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	} else if r.InputID != nil {
		// The input's own id (a station's OCPP identity) must be free too.
		if in := r.InputID(row.In); in != "" {
			if _, err := r.Repo(tx).Get(ctx, in); err == nil {
				return nil, &errs.Error{Kind: errs.Conflict, Field: "id", Msg: fmt.Sprintf("%s %s already exists", r.Name, in)}
			}
		}
	}
	v, err := buildNew(ctx, a, tx, r, row.In, id)
	if err != nil {
		return nil, err
	}
	_, status, _ := r.Meta(v)
	switch row.Status {
	case "":
	case account.Active, account.Inactive:
		*status = row.Status
	default:
		return nil, errs.Field("status", "must be active or inactive")
	}
	if u, ok := any(v).(*account.User); ok {
		in, _ := any(row.In).(UserInput)
		if err := importPurchaser(ctx, tx, u, in.Currency, row.AccountID, row.CreditLimit); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// importPurchaser gives a purchaser the account id of the file and checks its credit limit.
func importPurchaser(ctx context.Context, tx store.Tx, u *account.User, currency, accountID, creditLimit string) error {
	if accountID != "" {
		if u.AccountID == "" {
			return errs.Field("account_id", "only purchasers have an account")
		}
		if !importIDPattern.MatchString(accountID) {
			return errs.Field("account_id", "%q is not an id", accountID)
		}
		if _, err := tx.Accounts().Get(ctx, accountID); err == nil {
			return &errs.Error{Kind: errs.Conflict, Field: "account_id", Msg: fmt.Sprintf("account %s already exists", accountID)}
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		u.AccountID = accountID
	}
	if creditLimit == "" {
		return nil
	}
	if u.AccountID == "" {
		return errs.Field("credit_limit", "only purchasers have an account")
	}
	if currency == "" {
		currency = DefaultCurrency
	}
	m, err := money.Parse(creditLimit, currency)
	if err != nil {
		return errs.Field("credit_limit", "%s", fieldless(err))
	}
	if m.Minor < 0 {
		return errs.Field("credit_limit", "must not be negative")
	}
	// Credit is an admin's decision, as on PATCH /accounts/{id}.
	if m.Minor > 0 {
		if err := require(ctx, Accounts.WriteRole); err != nil {
			return errs.Field("credit_limit", "only an admin sets a credit limit")
		}
	}
	return nil
}

func importStore[T, I any](ctx context.Context, a *App, tx store.Tx, r *Resource[T, I], row ImportRow[I], v *T) error {
	if err := storeNew(ctx, a, tx, r, row.In, v); err != nil {
		return err
	}
	u, ok := any(v).(*account.User)
	if !ok || row.CreditLimit == "" {
		return nil
	}
	acc, err := tx.Accounts().Get(ctx, u.AccountID)
	if err != nil {
		return err
	}
	m, err := money.Parse(row.CreditLimit, acc.Currency) // checked by importPurchaser
	if err != nil {
		return errs.Field("credit_limit", "%s", fieldless(err))
	}
	if m.Minor == 0 {
		return nil
	}
	acc.CreditLimit = m.Minor
	return tx.Accounts().Update(ctx, acc)
}

// ListAllIn reads every record of r matching filter inside tx, in id order (exports).
func ListAllIn[T, I any](ctx context.Context, tx store.Tx, r *Resource[T, I], filter map[string]string) ([]T, error) {
	var all []T
	cursor := ""
	for {
		items, next, err := r.Repo(tx).List(ctx, store.Query{Filter: filter, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// Export reads, in one read transaction, what fn needs to write an export; it checks the
// caller may read master data in bulk (operators: exports carry purchasers' contact data).
func (a *App) Export(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := require(ctx, account.RoleOperator); err != nil {
		return errs.Wrap("export", err)
	}
	return a.Store.View(ctx, fn)
}
