package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"riskmap/report"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ReadCSV reads a CSV file with a header line. The text is UTF-8, with or without
// a byte-order mark; a file that is not valid UTF-8 is read as GB18030 (which
// includes GBK and GB2312, what Excel on a Chinese Windows saves). A UTF-16 file is
// refused. The delimiter is a comma, or a tab or semicolon when the header line has
// one of those and no comma. Quotes follow RFC 4180, leniently (a stray quote
// inside a field is kept). Every value is a string; records shorter than the
// header leave the rest nil. Limits: MaxLineBytes per line, MaxColumns, MaxRows.
func ReadCSV(data []byte) (*Table, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), MaxFileBytes)
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil, fmt.Errorf("%w: the CSV is UTF-16: save it as UTF-8 (Excel: CSV UTF-8)", ErrFormat)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil {
			return nil, fmt.Errorf("%w: the CSV is neither UTF-8 nor GB18030: %v", ErrFormat, err)
		}
		data = dec
	}
	r := csv.NewReader(&lineLimiter{r: bytes.NewReader(data)})
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.Comma = delimiter(data)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the CSV is empty: it needs a header line", ErrFormat)
	}
	if err != nil {
		return nil, csvErr(err)
	}
	if len(header) > MaxColumns {
		return nil, fmt.Errorf("%w: %d columns, the limit is %d", ErrTooLarge, len(header), MaxColumns)
	}
	t := &Table{Format: CSV, Columns: make([]string, len(header))}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			h = fmt.Sprintf("column %d", i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("%w: the header names column %q twice", ErrFormat, h)
		}
		seen[h] = true
		t.Columns[i] = h
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) > len(t.Columns) {
			// Extra fields beyond the header: keep them only when they are empty
			// (Excel pads rows with commas); otherwise the row is bad.
			extra := strings.Join(rec[len(t.Columns):], "")
			if strings.TrimSpace(extra) != "" {
				if len(t.Rows) >= MaxRows {
					return nil, fmt.Errorf("%w: more than %d rows", ErrTooLarge, MaxRows)
				}
				t.Rows = append(t.Rows, Row{Line: line, Values: toAny(rec[:len(t.Columns)]), Extra: len(rec) - len(t.Columns)})
				continue
			}
			rec = rec[:len(t.Columns)]
		}
		if len(t.Rows) >= MaxRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrTooLarge, MaxRows)
		}
		t.Rows = append(t.Rows, Row{Line: line, Values: toAny(rec)})
	}
	return t, nil
}

// toAny makes a record's values, undoing the spreadsheet guard riskmap's own CSV
// writers put on text (report.SafeCell, undone by report.UnguardCell), so that an
// export re-imports to the same text.
func toAny(rec []string) []any {
	out := make([]any, len(rec))
	for i, s := range rec {
		out[i] = report.UnguardCell(s)
	}
	return out
}

func csvErr(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}

// delimiter picks the CSV delimiter from the header line.
func delimiter(data []byte) rune {
	first := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		first = data[:i]
	}
	if bytes.IndexByte(first, ',') >= 0 {
		return ','
	}
	if bytes.IndexByte(first, '\t') >= 0 {
		return '\t'
	}
	if bytes.IndexByte(first, ';') >= 0 {
		return ';'
	}
	return ','
}

// lineLimiter fails a read once a physical line exceeds MaxLineBytes.
type lineLimiter struct {
	r   io.Reader
	run int // bytes since the last newline
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.run = 0
			continue
		}
		l.run++
		if l.run > MaxLineBytes {
			return 0, fmt.Errorf("%w: a line is longer than %d bytes", ErrTooLarge, MaxLineBytes)
		}
	}
	return n, err
}
