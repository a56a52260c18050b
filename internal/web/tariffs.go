package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/evcs/evcs/internal/billing"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/store"
)

func (c *Console) tariffsPage(w http.ResponseWriter, r *http.Request) {
	items, _, err := c.app.Tariffs(r.Context(), store.Query{Limit: 500})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "tariffs.html", "Tariffs", items)
}

type tariffView struct {
	T        *billing.TariffRecord
	CDR      string
	TimeZone string
	Result   string
	Error    string
}

func (c *Console) tariffPage(w http.ResponseWriter, r *http.Request) {
	rec, err := c.app.Tariff(r.Context(), chi.URLParam(r, "id"), 0)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, "tariff.html", "Tariff "+rec.ID, tariffView{T: rec, TimeZone: "UTC", CDR: sampleCDR(rec.Currency)})
}

// tariffPreview prices a CDR pasted in the form with this tariff (nothing is stored).
func (c *Console) tariffPreview(w http.ResponseWriter, r *http.Request) {
	rec, err := c.app.Tariff(r.Context(), chi.URLParam(r, "id"), 0)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := tariffView{T: rec, CDR: r.PostFormValue("cdr"), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone"))}
	if v.TimeZone == "" {
		v.TimeZone = "UTC"
	}
	code := http.StatusOK
	loc, lerr := time.LoadLocation(v.TimeZone)
	out, perr := []byte(nil), lerr
	if lerr == nil {
		out, perr = billing.PriceJSON([]byte(v.CDR), rec.Tariff, loc)
	}
	if perr != nil {
		v.Error, code = errs.Message(perr), http.StatusUnprocessableEntity
		if lerr != nil {
			v.Error = "time_zone: unknown time zone " + v.TimeZone
		}
	} else {
		v.Result = string(out)
	}
	w.WriteHeader(code)
	c.render(w, r, "tariff.html", "Tariff "+rec.ID, v)
}

// sampleCDR is a starting point for the preview form: one hour, 10 kWh.
func sampleCDR(currency string) string {
	return `{
  "currency": "` + currency + `",
  "start_date_time": "2026-01-15T17:00:00Z",
  "end_date_time": "2026-01-15T18:00:00Z",
  "charging_periods": [
    {"start_date_time": "2026-01-15T17:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 10}]}
  ],
  "total_energy": 10,
  "total_time": 1
}`
}

func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
