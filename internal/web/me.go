package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
)

// A purchaser's own page: balance, sessions and receipts, top-up through the payment provider,
// own tokens and vehicles. The use cases let a purchaser act on their own account only (the
// account comes from the signed-in actor, never from the form) and answer NotFound for anything
// of another purchaser.

// purchaserMethods are the self-service top-up methods that have a provider.
func (c *Console) purchaserMethods() []string {
	var out []string
	for _, m := range c.opts.PurchaserTopUpMethods {
		if _, ok := c.app.PaymentProviderFor(m); ok {
			out = append(out, m)
		}
	}
	return out
}

func (c *Console) mePage(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	v, err := c.loadAccount(r.Context(), me.AccountID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Methods, v.Action = c.purchaserMethods(), "/me/topups"
	c.render(w, r, "me.html", "My account", v)
}

// accountOrMe is an account page: any account for staff; for a purchaser their own account is
// /me, and any other id answers 404, as an account that does not exist does.
func (c *Console) accountOrMe(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	id := chi.URLParam(r, "id")
	switch {
	case me.Role == account.RolePurchaser && me.AccountID != "" && id == me.AccountID:
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	case me.Role == account.RolePurchaser:
		c.fail(w, r, errs.E(errs.NotFound, "no account %s", id))
	case account.RoleRank(me.Role) < account.RoleRank(account.RoleViewer):
		c.fail(w, r, errs.E(errs.Forbidden, "your role (%s) may not do this", me.Role))
	default:
		c.accountPage(w, r)
	}
}

func (c *Console) meTopUp(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	method := r.PostFormValue("method")
	ok := false
	for _, m := range c.purchaserMethods() {
		ok = ok || m == method
	}
	if !ok {
		c.flashTo(w, r, "/me", true, "Online top-up is not available.")
		return
	}
	c.doTopUp(w, r, r.Context(), me.AccountID, method, "/me")
}

func (c *Console) meAddToken(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	in := account.IdTokenFields{UID: strings.TrimSpace(r.PostFormValue("uid")), Type: r.PostFormValue("type"), AccountID: me.AccountID, Label: strings.TrimSpace(r.PostFormValue("label"))}
	if in.Type == "" {
		in.Type = "ISO14443"
	}
	if _, err := app.Create(r.Context(), c.app, app.IdTokens, in); err != nil {
		c.flashTo(w, r, "/me", true, "Token not added: "+errs.Message(err))
		return
	}
	c.flashTo(w, r, "/me", false, "Token "+in.UID+" added.")
}

// meTokenStatus blocks or unblocks one of the purchaser's own tokens (a lost card).
func (c *Console) meTokenStatus(w http.ResponseWriter, r *http.Request) {
	st := account.Blocked
	if r.PostFormValue("status") == account.Active {
		st = account.Active
	}
	patch, _ := json.Marshal(map[string]string{"status": st})
	tok, err := app.Patch(r.Context(), c.app, app.IdTokens, chi.URLParam(r, "id"), patch)
	if err != nil {
		c.failOrFlash(w, r, err)
		return
	}
	c.flashTo(w, r, "/me", false, "Token "+tok.UID+" is now "+st+".")
}

func (c *Console) meAddVehicle(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	in := account.VehicleFields{OwnerID: me.UserID, VIN: strings.TrimSpace(r.PostFormValue("vin")), Plate: strings.TrimSpace(r.PostFormValue("plate")),
		Make: strings.TrimSpace(r.PostFormValue("make")), Model: strings.TrimSpace(r.PostFormValue("model"))}
	if _, err := app.Create(r.Context(), c.app, app.Vehicles, in); err != nil {
		c.flashTo(w, r, "/me", true, "Vehicle not added: "+errs.Message(err))
		return
	}
	c.flashTo(w, r, "/me", false, "Vehicle added.")
}

func (c *Console) meRemoveVehicle(w http.ResponseWriter, r *http.Request) {
	if _, err := app.Deactivate(r.Context(), c.app, app.Vehicles, chi.URLParam(r, "id")); err != nil {
		c.failOrFlash(w, r, err)
		return
	}
	c.flashTo(w, r, "/me", false, "Vehicle removed.")
}

// failOrFlash answers another purchaser's (or a missing) record with the 404 page, and any
// other refusal with a message on /me.
func (c *Console) failOrFlash(w http.ResponseWriter, r *http.Request, err error) {
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
		c.fail(w, r, err)
		return
	}
	c.flashTo(w, r, "/me", true, errs.Message(err))
}
