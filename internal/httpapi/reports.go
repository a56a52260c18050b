package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
	"github.com/evcs/evcs/internal/report"
)

// ReportParams select a report's range and grouping.
type ReportParams struct {
	From      string `query:"from" doc:"start, RFC 3339 or a date (local midnight in tz); default 30 days before to" maxLength:"40"`
	To        string `query:"to" doc:"end (exclusive), RFC 3339 or a date; default the end of today in tz" maxLength:"40"`
	GroupBy   string `query:"group_by" doc:"a period (hour, day, week, month), a dimension (site, station, tariff, purchaser, vehicle, as the report allows) or both: day,station" maxLength:"40"`
	TZ        string `query:"tz" doc:"IANA time zone periods are cut in; default UTC" maxLength:"64"`
	SiteID    string `query:"site_id" maxLength:"100"`
	StationID string `query:"station_id" maxLength:"100"`
	Format    string `query:"format" enum:"json,csv,xlsx" default:"json"`
	Limit     int    `query:"limit" minimum:"1" maximum:"10000" doc:"purchaser and vehicle groupings: dimension values per page (default 1000)"`
	Cursor    string `query:"cursor" maxLength:"600" doc:"purchaser and vehicle groupings: the page after the one whose next_cursor (or Link rel=next) this is"`
}

// reportOut is a report as JSON, CSV or XLSX: raw bytes with their media type.
type reportOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Link               string `header:"Link"`
	Body               []byte
}

var reportSummaries = map[string]string{
	report.Energy:       "Energy delivered and exported, and sessions",
	report.Sessions:     "Sessions: count, total and average length, average power",
	report.Revenue:      "Revenue excl. and incl. VAT, per currency",
	report.TopUps:       "Top-ups into purchaser accounts, per currency",
	report.Utilisation:  "Utilisation: % of EVSE time occupied by sessions",
	report.Availability: "Availability: % of connector time not faulted or unavailable",
	report.PeakLoad:     "Peak hourly site load against the grid limit",
	report.Swaps:        "Completed battery swaps",
	report.BatterySoH:   "Battery state-of-health trend per battery type",
}

// registerReports adds GET /reports/{name} for every report: JSON {"report","columns","rows",
// "totals"}, or with ?format=csv|xlsx a download with a header row.
func registerReports(api huma.API, a *app.App) {
	for _, name := range report.Names {
		o := op(http.MethodGet, "/reports/"+name, "report-"+name, reportSummaries[name], account.RoleViewer, "Reports")
		o.Description = "Groupings: periods hour, day, week (ISO, Monday), month in `tz`; dimensions " + dimsDoc(name) + ". " +
			"Money amounts are decimal strings beside a currency column; energy is integer Wh. " +
			"Purchaser and vehicle groupings come in pages of `limit` values in id order: a JSON page has `next_cursor`, every format a `Link` header with rel=next, until the last page; totals are the page's."
		o.Errors = append(o.Errors, http.StatusUnprocessableEntity)
		o.Responses = map[string]*huma.Response{"200": {Description: "The report", Content: map[string]*huma.MediaType{
			"application/json":         {Schema: &huma.Schema{Type: "object"}},
			"text/csv":                 {Schema: &huma.Schema{Type: "string"}},
			report.ContentType("xlsx"): {Schema: &huma.Schema{Type: "string", Format: "binary"}}}}}
		huma.Register(api, o, func(ctx context.Context, in *ReportParams) (*reportOut, error) {
			t, err := a.Report(ctx, app.ReportParams{Name: name, From: in.From, To: in.To, GroupBy: in.GroupBy, TZ: in.TZ, SiteID: in.SiteID, StationID: in.StationID,
				Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, failQuery(err)
			}
			format := in.Format
			if format == "" {
				format = "json"
			}
			var b bytes.Buffer
			if err := t.Write(&b, format, nil); err != nil {
				return nil, fail(err)
			}
			out := &reportOut{ContentType: report.ContentType(format), Body: b.Bytes()}
			if t.Next != "" {
				out.Link = `<` + nextReportURL(name, in, t.Next) + `>; rel="next"`
			}
			if format != "json" {
				out.ContentDisposition = `attachment; filename="` + app.ReportFileName(name, in.From, in.To, format) + `"`
			}
			return out, nil
		})
	}
}

// nextReportURL is the path and query of a report's next page.
func nextReportURL(name string, in *ReportParams, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"from": in.From, "to": in.To, "group_by": in.GroupBy, "tz": in.TZ, "site_id": in.SiteID,
		"station_id": in.StationID, "format": in.Format, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	return Prefix + "/reports/" + name + "?" + q.Encode()
}

func dimsDoc(name string) string {
	s := ""
	for i, d := range report.Dims[name] {
		if i > 0 {
			s += ", "
		}
		s += d
	}
	if s == "" {
		return "none"
	}
	return s
}

// failQuery is fail for errors about query parameters.
func failQuery(err error) error {
	if f := errs.FieldOf(err); f != "" && errs.KindOf(err) == errs.Invalid {
		detail := errs.Message(err)
		return newProblem(status(errs.Invalid), detail, &huma.ErrorDetail{Location: "query." + f, Message: detail})
	}
	return fail(err)
}
