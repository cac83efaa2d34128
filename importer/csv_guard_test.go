package importer

import (
	"testing"

	"riskmap/report"
)

// TestCSVFormulaGuardReadsBack: a text written through report.SafeCell (as riskmap's
// exports and reports write text cells) reads back as the original text.
func TestCSVFormulaGuardReadsBack(t *testing.T) {
	for _, text := range []string{"=SUM(A1)", "+86 755", "-坡顶", "@home", "'quoted", "plain", "'"} {
		data := []byte("name\r\n\"" + report.SafeCell(text) + "\"\r\n")
		tb, err := ReadCSV(data)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if len(tb.Rows) != 1 || tb.Rows[0].Values[0] != text {
			t.Errorf("%q written as %q read back as %v", text, report.SafeCell(text), tb.Rows[0].Values)
		}
	}
}
