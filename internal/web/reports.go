package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/report"
)

// The reports page: pick a report, range, grouping and time zone; see the first rows; download
// the whole report as CSV or XLSX. Figures come from app.Report, as over the API.

// reportShown bounds the rows the page shows; downloads have them all.
const reportShown = 200

type reportsView struct {
	Names                                          []string
	Name, From, To, GroupBy, TZ, SiteID, StationID string
	Table                                          *report.Table
	Rows                                           [][]string   // the first reportShown rows, as text
	More                                           int          // rows not shown
	Totals                                         []string     // "name: value", sorted
	CSV, XLSX                                      template.URL // the download links of the selection
	Err                                            string
}

// reportParams reads a report selection from a query string.
func reportParams(q url.Values) app.ReportParams {
	return app.ReportParams{Name: q.Get("name"), From: q.Get("from"), To: q.Get("to"), GroupBy: q.Get("group_by"), TZ: q.Get("tz"),
		SiteID: q.Get("site_id"), StationID: q.Get("station_id")}
}

func (c *Console) reportsPage(w http.ResponseWriter, r *http.Request) {
	p := reportParams(r.URL.Query())
	v := reportsView{Names: report.Names, Name: p.Name, From: p.From, To: p.To, GroupBy: p.GroupBy, TZ: p.TZ, SiteID: p.SiteID, StationID: p.StationID}
	if v.Name == "" {
		v.Name = report.Energy
		c.render(w, r, "reports.html", "Reports", v)
		return
	}
	t, err := c.app.Report(r.Context(), p)
	switch {
	case errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound):
		v.Err = errs.Message(err)
		w.WriteHeader(http.StatusUnprocessableEntity)
	case err != nil:
		c.fail(w, r, err)
		return
	default:
		v.Table = t
		for i, row := range t.Rows {
			if i == reportShown {
				v.More = len(t.Rows) - reportShown
				break
			}
			cells := make([]string, len(row))
			for j, cell := range row {
				cells[j] = report.CellText(cell)
			}
			v.Rows = append(v.Rows, cells)
		}
		v.Totals = report.TotalsText(t.Totals)
		q := url.Values{}
		for k, val := range map[string]string{"name": p.Name, "from": p.From, "to": p.To, "group_by": p.GroupBy, "tz": p.TZ, "site_id": p.SiteID, "station_id": p.StationID} {
			if val != "" {
				q.Set(k, val)
			}
		}
		// A whole URL built here: the template would escape a query string spliced into href.
		v.CSV = template.URL("/reports/download?" + q.Encode() + "&format=csv")
		v.XLSX = template.URL("/reports/download?" + q.Encode() + "&format=xlsx")
	}
	c.render(w, r, "reports.html", "Reports", v)
}

// reportDownload sends a whole report as a CSV or XLSX attachment.
func (c *Console) reportDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "csv" && format != "xlsx" {
		c.fail(w, r, errs.Field("format", "must be csv or xlsx"))
		return
	}
	p := reportParams(q)
	p.Limit = -1 // the whole report: every purchaser or vehicle, not a page
	t, err := c.app.Report(r.Context(), p)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := t.Write(&b, format, nil); err != nil {
		c.fail(w, r, err)
		return
	}
	name := app.ReportFileName(p.Name, orDefault(p.From, "start"), orDefault(p.To, "today"), format)
	w.Header().Set("Content-Type", report.ContentType(format))
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	_, _ = w.Write(b.Bytes())
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
