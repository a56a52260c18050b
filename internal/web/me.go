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
// own tokens and vehicles. Every handler here works on the signed-in purchaser's account only;
// ids in forms are checked against it.

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
	c.doTopUp(w, r, elevated(r.Context()), me.AccountID, method, "/me")
}

func (c *Console) meAddToken(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	in := account.IdTokenFields{UID: strings.TrimSpace(r.PostFormValue("uid")), Type: r.PostFormValue("type"), AccountID: me.AccountID, Label: strings.TrimSpace(r.PostFormValue("label"))}
	if in.Type == "" {
		in.Type = "ISO14443"
	}
	if _, err := app.Create(elevated(r.Context()), c.app, app.IdTokens, in); err != nil {
		c.flashTo(w, r, "/me", true, "Token not added: "+errs.Message(err))
		return
	}
	c.flashTo(w, r, "/me", false, "Token "+in.UID+" added.")
}

// meTokenStatus blocks or unblocks one of the purchaser's own tokens (a lost card).
func (c *Console) meTokenStatus(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	id := chi.URLParam(r, "id")
	tok, err := app.Get(r.Context(), c.app, app.IdTokens, id)
	if err == nil && tok.AccountID != me.AccountID {
		err = errs.E(errs.NotFound, "no token %s", id)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	st := account.Blocked
	if r.PostFormValue("status") == account.Active {
		st = account.Active
	}
	patch, _ := json.Marshal(map[string]string{"status": st})
	if _, err := app.Patch(elevated(r.Context()), c.app, app.IdTokens, id, patch); err != nil {
		c.flashTo(w, r, "/me", true, errs.Message(err))
		return
	}
	c.flashTo(w, r, "/me", false, "Token "+tok.UID+" is now "+st+".")
}

func (c *Console) meAddVehicle(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	in := account.VehicleFields{OwnerID: me.UserID, VIN: strings.TrimSpace(r.PostFormValue("vin")), Plate: strings.TrimSpace(r.PostFormValue("plate")),
		Make: strings.TrimSpace(r.PostFormValue("make")), Model: strings.TrimSpace(r.PostFormValue("model"))}
	if _, err := app.Create(elevated(r.Context()), c.app, app.Vehicles, in); err != nil {
		c.flashTo(w, r, "/me", true, "Vehicle not added: "+errs.Message(err))
		return
	}
	c.flashTo(w, r, "/me", false, "Vehicle added.")
}

func (c *Console) meRemoveVehicle(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r.Context())
	id := chi.URLParam(r, "id")
	v, err := app.Get(r.Context(), c.app, app.Vehicles, id)
	if err == nil && v.OwnerID != me.UserID {
		err = errs.E(errs.NotFound, "no vehicle %s", id)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if _, err := app.Deactivate(elevated(r.Context()), c.app, app.Vehicles, id); err != nil {
		c.flashTo(w, r, "/me", true, errs.Message(err))
		return
	}
	c.flashTo(w, r, "/me", false, "Vehicle removed.")
}
