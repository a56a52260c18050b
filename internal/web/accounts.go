package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/charging"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/money"
	"github.com/evcs/evcs/internal/store"
)

type purchaserRow struct {
	User    account.User
	Balance money.Money
}

func (c *Console) purchasersPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var rows []purchaserRow
	err := c.app.Store.View(ctx, func(tx store.Tx) error {
		var users []account.User
		err := eachPage(ctx, tx.Users(), store.Query{Filter: map[string]string{"role": account.RolePurchaser}, Search: r.URL.Query().Get("q")},
			func(u *account.User) { users = append(users, *u) })
		if err != nil {
			return err
		}
		for _, u := range users {
			row := purchaserRow{User: u}
			if u.AccountID != "" {
				acc, err := tx.Accounts().Get(ctx, u.AccountID)
				if err != nil {
					return err
				}
				bal, err := tx.Balance(ctx, u.AccountID)
				if err != nil {
					return err
				}
				row.Balance = money.New(bal, acc.Currency)
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "purchasers.html", "Purchasers", rows)
}

// accountView is an account's page, for staff (/accounts/{id}) and for its purchaser (/me).
type accountView struct {
	Account  *app.AccountView
	Owner    *account.User
	Entries  []account.LedgerEntry
	Sessions []charging.Session
	Tokens   []account.IdToken
	Vehicles []account.Vehicle
	Methods  []string // top-up methods offered
	IdemKey  string   // a fresh key per form: submitting the same form twice tops up once
	Action   string   // where the top-up form posts
}

func (c *Console) loadAccount(ctx context.Context, id string) (*accountView, error) {
	acc, err := c.app.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if acc.UserID == "" {
		return nil, errs.E(errs.NotFound, "no account %s", id) // system accounts are not pages
	}
	v := &accountView{Account: acc, IdemKey: randomToken()}
	err = c.app.Store.View(ctx, func(tx store.Tx) error {
		if v.Owner, err = tx.Users().Get(ctx, acc.UserID); err != nil {
			return err
		}
		if v.Entries, _, err = tx.Ledger().Entries(ctx, id, store.Query{Limit: 50}); err != nil {
			return err
		}
		if v.Sessions, err = lastN(ctx, tx.Sessions(), store.Query{Filter: map[string]string{"account_id": id}}, 50, "started_at"); err != nil {
			return err
		}
		if v.Tokens, _, err = tx.IdTokens().List(ctx, store.Query{Filter: map[string]string{"account_id": id}, Limit: 100}); err != nil {
			return err
		}
		v.Vehicles, _, err = tx.Vehicles().List(ctx, store.Query{Filter: map[string]string{"owner_id": acc.UserID}, Limit: 100})
		return err
	})
	return v, err
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request) {
	v, err := c.loadAccount(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Methods, v.Action = c.app.PaymentMethods(), "/accounts/"+v.Account.ID+"/topups"
	c.render(w, r, "account.html", "Account "+v.Account.ID, v)
}

// topUp posts a top-up from an account page (operators).
func (c *Console) topUp(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	c.doTopUp(w, r, r.Context(), id, r.PostFormValue("method"), "/accounts/"+id)
}

// doTopUp runs a top-up with the form's idempotency key: a second submit of the same form (a
// double click, a reload that re-posts) finds the first top-up and moves nothing.
func (c *Console) doTopUp(w http.ResponseWriter, r *http.Request, ctx context.Context, accountID, method, back string) {
	in := app.TopUpInput{Amount: strings.TrimSpace(r.PostFormValue("amount")), Method: method, Reference: strings.TrimSpace(r.PostFormValue("reference"))}
	t, err := c.app.TopUp(ctx, accountID, in, r.PostFormValue("idem"))
	switch {
	case errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden):
		c.fail(w, r, err)
	case err != nil:
		c.flashTo(w, r, back, true, "Top-up refused: "+errs.Message(err))
	case t.Replayed:
		c.flashTo(w, r, back, false, "This top-up was already recorded ("+t.Amount.String()+" "+t.Amount.Currency+"); nothing more was charged.")
	default:
		c.flashTo(w, r, back, false, "Topped up "+t.Amount.String()+" "+t.Amount.Currency+"; balance "+t.Balance.String()+" "+t.Balance.Currency+".")
	}
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request) {
	var items []account.IdToken
	err := c.app.Store.View(r.Context(), func(tx store.Tx) (err error) {
		items, err = lastN(r.Context(), tx.IdTokens(), store.Query{Search: r.URL.Query().Get("q")}, 200, "created_at")
		return err
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "tokens.html", "Tokens", items)
}

func (c *Console) vehiclesPage(w http.ResponseWriter, r *http.Request) {
	var items []account.Vehicle
	err := c.app.Store.View(r.Context(), func(tx store.Tx) (err error) {
		items, err = lastN(r.Context(), tx.Vehicles(), store.Query{Search: r.URL.Query().Get("q")}, 200, "created_at")
		return err
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "vehicles.html", "Vehicles", items)
}
