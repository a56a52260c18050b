// Package bulk is the file side of bulk import and export of master data: one CSV or XLSX
// format per kind (sites, stations, purchasers, tokens, vehicles) with a header row, parsed and
// checked row by row into the app's inputs, and written back from the records so that an
// export imported into an empty store and exported again gives the same file.
//
// Every cell is text: numbers, booleans and times are written in one canonical form (decimal
// kW, true/false, RFC 3339 UTC) and read back exactly; an XLSX sheet stores them as text cells
// too, so a spreadsheet never rounds an id or a kW value.
package bulk

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/evcs/evcs/internal/app"
	"github.com/evcs/evcs/internal/errs"
)

// Formats.
const (
	CSV  = "csv"
	XLSX = "xlsx"
)

// ContentType is a format's media type.
func ContentType(format string) string {
	if format == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// FormatOf picks the format of a file from its name or media type, and failing both from its
// first bytes (an XLSX file is a ZIP archive). "" when it cannot tell.
func FormatOf(nameOrType string, head []byte) string {
	s := strings.ToLower(nameOrType)
	switch {
	case strings.HasSuffix(s, ".xlsx"), strings.Contains(s, "spreadsheetml"):
		return XLSX
	case strings.HasSuffix(s, ".csv"), strings.HasPrefix(s, "text/csv"), strings.HasPrefix(s, "application/csv"), strings.HasPrefix(s, "text/plain"):
		return CSV
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return XLSX
	case len(head) > 0:
		return CSV
	}
	return ""
}

// Table is a file's header and rows.
type Table struct {
	Sheet   string // XLSX sheet name (the kind)
	Columns []string
	Rows    []Row
}

// Row is one data row and the line (CSV) or row number (XLSX) it came from; the header is 1.
type Row struct {
	Line  int
	Cells []string
}

// Read reads a table in format from r. A file that cannot be read as the format at all is an
// ImportError on the line where reading stopped.
func Read(r io.Reader, format, sheet string) (*Table, error) {
	switch format {
	case CSV:
		return readCSV(r)
	case XLSX:
		return readXLSX(r, sheet)
	}
	return nil, errs.Field("format", "%q: use csv or xlsx", format)
}

func fileError(line int, format string, args ...any) error {
	return &app.ImportError{Errors: []app.RowError{{Line: line, Message: fmt.Sprintf(format, args...)}}}
}

func readCSV(r io.Reader) (*Table, error) {
	br := bufio.NewReader(r)
	// Spreadsheets save CSV with a byte-order mark; it is not part of the first column's name.
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // rows of the wrong width are reported per row, not as a file error
	t := &Table{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fileError(pe.Line, "not CSV: %v", pe.Err)
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if t.Columns == nil {
			t.Columns = rec
			continue
		}
		t.Rows = append(t.Rows, Row{Line: line, Cells: rec})
	}
	if t.Columns == nil {
		return nil, fileError(1, "the file is empty: it needs a header row")
	}
	return t, nil
}

func readXLSX(r io.Reader, sheet string) (*Table, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fileError(0, "not an XLSX workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fileError(0, "the workbook has no sheet")
	}
	name := sheets[0]
	for _, s := range sheets {
		if strings.EqualFold(s, sheet) {
			name = s
		}
	}
	rows, err := f.Rows(name)
	if err != nil {
		return nil, fileError(0, "sheet %s: %v", name, err)
	}
	defer rows.Close()
	t := &Table{Sheet: name}
	line := 0
	for rows.Next() {
		line++
		// Raw values: a number keeps the digits it was stored with, not a display format's.
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fileError(line, "%v", err)
		}
		if t.Columns == nil {
			if blank(cells) {
				continue
			}
			t.Columns = cells
			continue
		}
		if blank(cells) {
			continue // as CSV skips empty lines
		}
		t.Rows = append(t.Rows, Row{Line: line, Cells: cells})
	}
	if err := rows.Error(); err != nil {
		return nil, fileError(line, "%v", err)
	}
	if t.Columns == nil {
		return nil, fileError(1, "sheet %s is empty: it needs a header row", name)
	}
	return t, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

// Write writes t in format. progress, when set, is told how many rows are written.
func Write(w io.Writer, format string, t *Table, progress func(done, total int)) error {
	switch format {
	case CSV:
		return writeCSV(w, t, progress)
	case XLSX:
		return writeXLSX(w, t, progress)
	}
	return errs.Field("format", "%q: use csv or xlsx", format)
}

func writeCSV(w io.Writer, t *Table, progress func(done, total int)) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	for i, r := range t.Rows {
		if err := cw.Write(r.Cells); err != nil {
			return err
		}
		tick(progress, i, len(t.Rows))
	}
	cw.Flush()
	return cw.Error()
}

func tick(progress func(done, total int), i, n int) {
	if progress != nil && (i%500 == 499 || i == n-1) {
		progress(i+1, n)
	}
}

// writeXLSX writes one sheet named after the kind: a bold header row, then text cells. Rows are
// streamed, so a large export does not build a document in memory.
func writeXLSX(w io.Writer, t *Table, progress func(done, total int)) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := t.Sheet
	if sheet == "" {
		sheet = "data"
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
		head[i] = excelize.Cell{StyleID: bold, Value: c}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	row := make([]any, len(t.Columns))
	for i, r := range t.Rows {
		for j := range row {
			row[j] = ""
			if j < len(r.Cells) {
				row[j] = r.Cells[j]
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
		tick(progress, i, len(t.Rows))
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}
