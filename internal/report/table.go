package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Column kinds: how a cell is written.
const (
	KindString  = "string"  // text (ids, period labels, currencies)
	KindInt     = "integer" // int64: counts, Wh, W, seconds
	KindDecimal = "decimal" // a decimal string: money amounts (with a currency column), hours, percentages
)

// Column is one column of a report.
type Column struct {
	Name string `json:"name"`
	Kind string `json:"type"`
}

// Table is a tabular report. Rows hold strings (string, decimal kinds) and int64s (integer).
type Table struct {
	Name    string
	Columns []Column
	Rows    [][]any
	// Totals are the report's totals by column name (money totals per currency: see reports);
	// of a paged report, the totals of its page.
	Totals map[string]any
	// Next is the cursor of the next page of a paged report, "" on the last page.
	Next string
}

// MarshalJSON writes {"columns":[…],"rows":[{…}],"totals":{…}}, each row an object in column
// order, and "next_cursor" when another page follows.
func (t *Table) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"report":`)
	name, _ := json.Marshal(t.Name)
	b.Write(name)
	b.WriteString(`,"columns":`)
	cols, _ := json.Marshal(t.Columns)
	if t.Columns == nil {
		cols = []byte("[]")
	}
	b.Write(cols)
	b.WriteString(`,"rows":[`)
	keys := make([][]byte, len(t.Columns)) // `"name":`, once per column, not per cell
	for j, c := range t.Columns {
		k, _ := json.Marshal(c.Name)
		keys[j] = append(k, ':')
	}
	var num []byte
	for i, r := range t.Rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for j := range t.Columns {
			if j > 0 {
				b.WriteByte(',')
			}
			b.Write(keys[j])
			if v, ok := r[j].(int64); ok { // the common cells without reflection
				num = strconv.AppendInt(num[:0], v, 10)
				b.Write(num)
				continue
			}
			if v, ok := r[j].(string); ok && plainJSON(v) {
				b.WriteByte('"')
				b.WriteString(v)
				b.WriteByte('"')
				continue
			}
			e, err := json.Marshal(r[j])
			if err != nil {
				return nil, err
			}
			b.Write(e)
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"totals":`)
	tot := t.Totals
	if tot == nil {
		tot = map[string]any{}
	}
	tb, err := json.Marshal(tot)
	if err != nil {
		return nil, err
	}
	b.Write(tb)
	if t.Next != "" {
		b.WriteString(`,"next_cursor":`)
		nb, _ := json.Marshal(t.Next)
		b.Write(nb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// plainJSON reports whether s needs no escaping in a JSON string (as encoding/json writes it:
// printable ASCII but the quote, backslash and the HTML characters).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// CellText is a cell as CSV writes it.
func CellText(v any) string { return cellText(v) }

// TotalsText lists totals as "name: value" lines, sorted; nested totals (by_currency) as
// "by_currency EUR amount: 12.00".
func TotalsText(totals map[string]any) []string {
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if sub, ok := m[k].(map[string]any); ok {
				walk(prefix+k+" ", sub)
				continue
			}
			out = append(out, prefix+k+": "+cellText(m[k]))
		}
	}
	walk("", totals)
	return out
}

func cellText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// WriteCSV writes a header row and the rows (RFC 4180). progress, when not nil, is told how
// many rows are written as it goes.
func (t *Table) WriteCSV(w io.Writer, progress func(done, total int)) error {
	cw := csv.NewWriter(w)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Name
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for i, r := range t.Rows {
		for j := range t.Columns {
			rec[j] = cellText(r[j])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if progress != nil && (i%1000 == 999 || i == len(t.Rows)-1) {
			progress(i+1, len(t.Rows))
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes one sheet named after the report: a bold header row, integers and decimals
// as numbers (decimals keep their text's precision as far as a spreadsheet number can), text
// as text. Rows are streamed, so large reports do not build a DOM.
func (t *Table) WriteXLSX(w io.Writer, progress func(done, total int)) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := t.Name
	if sheet == "" {
		sheet = "report"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	head := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = excelize.Cell{StyleID: bold, Value: c.Name}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	row := make([]any, len(t.Columns))
	for i, r := range t.Rows {
		for j, c := range t.Columns {
			row[j] = xlsxValue(c.Kind, r[j])
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
		if progress != nil && (i%1000 == 999 || i == len(t.Rows)-1) {
			progress(i+1, len(t.Rows))
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

func xlsxValue(kind string, v any) any {
	if kind == KindDecimal {
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f
			}
		}
	}
	return v
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case "csv":
		return "text/csv; charset=utf-8"
	case "xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/json"
}

// Write writes t in format json, csv or xlsx.
func (t *Table) Write(w io.Writer, format string, progress func(done, total int)) error {
	switch format {
	case "csv":
		return t.WriteCSV(w, progress)
	case "xlsx":
		return t.WriteXLSX(w, progress)
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	if progress != nil {
		progress(len(t.Rows), len(t.Rows))
	}
	return err
}

// Formats are the output formats.
var Formats = []string{"json", "csv", "xlsx"}
