package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/bulk"
)

// ImportParams is a bulk import: the file is the request body.
type ImportParams struct {
	Kind        string `query:"kind" required:"true" enum:"sites,stations,purchasers,tokens,vehicles"`
	DryRun      bool   `query:"dry_run" doc:"check every row and roll back: nothing is stored"`
	Format      string `query:"format" enum:"csv,xlsx" doc:"default: from Content-Type (text/csv or the XLSX type), else from the file's first bytes"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"text/csv"`
}

// importProblem is a 422 problem listing every bad row with its line and column.
type importProblem struct {
	Type   string           `json:"type,omitempty"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail"`
	Errors []app.RowError   `json:"errors"`
	Result app.ImportResult `json:"result"`
}

func (p *importProblem) Error() string                { return p.Detail }
func (p *importProblem) GetStatus() int               { return p.Status }
func (p *importProblem) ContentType(ct string) string { return problemType(ct) }

func problemType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// ExportParams select an export's format.
type ExportParams struct {
	Kind   string `path:"kind" enum:"sites,stations,purchasers,tokens,vehicles"`
	Format string `query:"format" enum:"csv,xlsx" default:"csv"`
}

type fileOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

// registerImports adds POST /imports and GET /exports/{kind}: master data in bulk, in the
// formats of `evcs import` and `evcs export` (one file per kind; see internal/bulk).
func registerImports(api huma.API, a *app.App) {
	o := op(http.MethodPost, "/imports", "import", "Import master data from a CSV or XLSX file", account.RoleOperator, "Import and export")
	o.Description = "The body is one file of one kind (`?kind=`), with a header row; columns as `GET /exports/{kind}` writes them. " +
		"Every row is checked first and the file is applied all-or-nothing: with one bad row nothing changes and the answer " +
		"is a 422 problem whose `errors` list every bad row as `{line, field, message}`. Files of records that refer to " +
		"others import in the order sites, stations, purchasers, tokens, vehicles."
	o.MaxBodyBytes = 64 << 20
	o.Errors = append(o.Errors, http.StatusUnprocessableEntity)
	o.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		bulk.ContentType(bulk.XLSX): {Schema: &huma.Schema{Type: "string", Format: "binary"}}}}
	huma.Register(api, o, func(ctx context.Context, in *ImportParams) (*body[app.ImportResult], error) {
		format := in.Format
		if format == "" {
			ct := in.ContentType
			if strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/octet-stream") {
				ct = "" // curl's and DefaultJSON's guesses: look at the bytes instead
			}
			format = bulk.FormatOf(ct, in.RawBody)
		}
		if format != bulk.CSV && format != bulk.XLSX {
			return nil, newProblem(http.StatusUnsupportedMediaType, "send the file as text/csv or "+bulk.ContentType(bulk.XLSX))
		}
		res, err := bulk.Import(ctx, a, in.Kind, format, bytes.NewReader(in.RawBody), app.ImportOptions{DryRun: in.DryRun})
		var ie *app.ImportError
		if errors.As(err, &ie) {
			return nil, &importProblem{Title: http.StatusText(http.StatusUnprocessableEntity), Status: http.StatusUnprocessableEntity,
				Detail: strings.SplitN(ie.Error(), "\n", 2)[0], Errors: ie.Errors, Result: res}
		}
		if err != nil {
			return nil, failQuery(err)
		}
		return &body[app.ImportResult]{Body: res}, nil
	})

	e := op(http.MethodGet, "/exports/{kind}", "export", "Export master data as CSV or XLSX", account.RoleOperator, "Import and export")
	e.Description = "Every record of the kind, in id order, in the format `POST /imports` reads: an export imported into an " +
		"empty store and exported again gives the same file. Secrets (station and login passwords) are never exported."
	e.Responses = map[string]*huma.Response{"200": {Description: "The file", Content: map[string]*huma.MediaType{
		"text/csv":                  {Schema: &huma.Schema{Type: "string"}},
		bulk.ContentType(bulk.XLSX): {Schema: &huma.Schema{Type: "string", Format: "binary"}}}}}
	huma.Register(api, e, func(ctx context.Context, in *ExportParams) (*fileOut, error) {
		format := in.Format
		if format == "" {
			format = bulk.CSV
		}
		var b bytes.Buffer
		if err := bulk.Export(ctx, a, in.Kind, format, &b, nil); err != nil {
			return nil, failQuery(err)
		}
		return &fileOut{ContentType: bulk.ContentType(format), Body: b.Bytes(),
			ContentDisposition: `attachment; filename="` + in.Kind + "." + format + `"`}, nil
	})
}
