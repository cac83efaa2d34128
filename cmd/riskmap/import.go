package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb/encoding/wkt"
	"golang.org/x/term"

	"riskmap/feature"
	"riskmap/importer"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
	"riskmap/store/postgis"
)

const importSynopsis = `Import census data into a layer, upserting by external_id:

  riskmap import --layer risk_points risks.csv
  riskmap import --layer resources --set kind=shelter --map capacity=容纳人数 shelters.geojson
  riskmap import --layer slopes --crs gcj02 --skip-invalid slopes.gpkg

FILE is GeoJSON (a FeatureCollection), CSV (lon/lat columns or a WKT column; UTF-8
with or without BOM, or GB18030/GBK) or a GeoPackage (its first feature table, or
--table). Columns are found by the layer's field names, their Chinese and English
labels and common synonyms (名称, 地址, 经度/纬度, ...); --map names the others.
Grades may be written 重大/较大/一般/低, 红/橙/黄/蓝, I–IV or 1–4; "300-1000" in a
number column means its upper bound; empty cells are null.

All or nothing: a bad row (every one is listed with its line, field, value and
reason) stops the import and nothing is written. With --skip-invalid the good rows
are imported and the bad ones written to a reject file. Rows, values and coordinate
systems: docs/import.md.`

// importStore is what import needs of a store.
type importStore interface {
	Import(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) (store.ImportResult, error)
	CheckSchema(ctx context.Context) error
	Close()
}

var (
	_ importStore = (*postgis.Store)(nil)
	_ importStore = (*gpkg.Store)(nil)
)

// listFlag collects a repeatable flag; with split, each value is also split at commas.
type listFlag struct {
	vals  []string
	split bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	if !l.split {
		l.vals = append(l.vals, s)
		return nil
	}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l.vals = append(l.vals, p)
		}
	}
	return nil
}

// pairs reads "key=value" items.
func pairs(flagName string, items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: want field=value", flagName, it)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// valueMaps reads --value items "field:source=value".
func valueMaps(items []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, it := range items {
		field, rest, ok1 := strings.Cut(it, ":")
		from, to, ok2 := strings.Cut(rest, "=")
		field = strings.TrimSpace(field)
		if !ok1 || !ok2 || field == "" || strings.TrimSpace(from) == "" {
			return nil, fmt.Errorf("--value %q: want field:source value=value, e.g. kind:自然斜坡=natural_slope", it)
		}
		if out[field] == nil {
			out[field] = map[string]string{}
		}
		out[field][strings.TrimSpace(from)] = strings.TrimSpace(to)
	}
	return out, nil
}

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("import", importSynopsis+"\n\nUsage: riskmap import --layer LAYER [flags] FILE", stdout, stderr)
	sf := addStoreFlags(fs)
	reg := layers.New()
	layer := fs.String("layer", "", "the layer to import into (required): "+strings.Join(layerNames(reg), ", "))
	format := fs.String("format", "", "geojson, csv or gpkg (default: from the file's extension)")
	table := fs.String("table", "", "the GeoPackage feature table to read (default: the first)")
	crs := fs.String("crs", "wgs84", "the coordinates' system: wgs84, cgcs2000 (taken as WGS84), gcj02 (AMap, Tencent) or bd09 (Baidu)")
	maps := &listFlag{split: true}
	fs.Var(maps, "map", "field=column[,field=column...]: read a layer field (or lon, lat, wkt) from that source column; field= reads it from none (repeatable)")
	sets := &listFlag{}
	fs.Var(sets, "set", "field=value: give every row this value, instead of any column, e.g. kind=shelter (repeatable)")
	values := &listFlag{}
	fs.Var(values, "value", "field:source=value: read this source value as that value, e.g. kind:自然斜坡=natural_slope (repeatable)")
	idPrefix := fs.String("id-prefix", "", "give rows without an external_id the id PREFIX+hash(name, location), stable across imports (default: such rows are bad)")
	skip := fs.Bool("skip-invalid", false, "import the good rows and write the bad ones to the reject file")
	rejects := fs.String("rejects", "", "the reject file of --skip-invalid (default FILE.rejects.csv)")
	dryRun := fs.Bool("dry-run", false, "read and check the file and report, writing nothing")
	actor := fs.String("actor", "import", "who made the change, recorded in the store's history")
	files, code, ok := parseWithFiles(fs, args, stdout)
	if !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "riskmap import: "+format+"\n", a...)
		return code
	}
	if len(files) != 1 {
		return fail(2, "give exactly one FILE (got %d)", len(files))
	}
	file := files[0]
	l, err := reg.Layer(*layer)
	if err != nil {
		return fail(2, "--layer: %v (one of %s)", err, strings.Join(layerNames(reg), ", "))
	}
	opts, code, err := importOptions(*crs, maps.vals, sets.vals, values.vals, *idPrefix)
	if err != nil {
		return fail(code, "%v", err)
	}
	var f importer.Format
	if *format != "" {
		if f, err = importer.ParseFormat(*format); err != nil {
			return fail(2, "%v", err)
		}
	}
	mapper, err := importer.NewMapper(l, opts)
	if err != nil {
		return fail(2, "%v", err)
	}
	rejectPath := *rejects
	if rejectPath == "" {
		rejectPath = file + ".rejects.csv"
	}

	start := time.Now()
	tb, err := importer.ReadFile(file, f, *table)
	if err != nil {
		return fail(1, "%v", err)
	}
	if tb.CRS != "" && tb.CRS != opts.CRS {
		crsSet := false
		fs.Visit(func(f *flag.Flag) { crsSet = crsSet || f.Name == "crs" })
		if crsSet {
			return fail(1, "%s declares its coordinates %s, not --crs %s", file, tb.CRS, opts.CRS)
		}
		opts.CRS = tb.CRS
		if mapper, err = importer.NewMapper(l, opts); err != nil {
			return fail(2, "%v", err)
		}
		fmt.Fprintf(stdout, "%s declares its coordinates %s: converted to WGS84\n", file, tb.CRS)
	}
	res, err := mapper.Map(tb)
	if err != nil {
		return fail(1, "%s: %v", file, err)
	}
	what := string(tb.Format)
	if tb.Name != "" {
		what += ", table " + tb.Name
	}
	fmt.Fprintf(stdout, "read %s (%s): %d rows in %v\n", file, what, res.Rows, time.Since(start).Round(time.Millisecond))
	printColumns(stdout, l, res)

	var s importStore
	if !*dryRun {
		if s, err = openImportStore(ctx, sf.spec(), reg); err != nil {
			return fail(1, "%v", err)
		}
		defer s.Close()
	}
	bad := res.Errors
	good, lines := res.Features, res.Lines
	var result store.ImportResult
	for round := 0; ; round++ {
		if len(bad) > 0 && !*skip {
			printBad(stdout, bad)
			return fail(1, "%s: %d bad %s, nothing imported: fix them, or --skip-invalid imports the %d good rows and writes the bad ones to %s",
				file, len(distinctLines(bad)), plural(len(distinctLines(bad)), "row", "rows"), len(good), rejectPath)
		}
		if *dryRun || len(good) == 0 {
			break
		}
		prog := newProgress(stderr, len(good))
		result, err = s.Import(ctx, l.Name, good, store.WriteOptions{Actor: *actor, Note: "riskmap import " + file}, prog.update)
		prog.done()
		if err == nil {
			break
		}
		rowErrs := storeRowErrors(err)
		if len(rowErrs) == 0 || round >= 50 {
			return fail(1, "%s: nothing imported: %v", file, err)
		}
		// The store refused rows (it checks what the importer cannot, e.g. a
		// polygon's validity) and wrote nothing: report them as bad rows and,
		// with --skip-invalid, try again without them.
		drop := map[int]bool{}
		for _, re := range rowErrs {
			if re.Row < 0 || re.Row >= len(lines) {
				return fail(1, "%s: nothing imported: %v", file, err)
			}
			drop[re.Row] = true
			bad = append(bad, rowErrorsOf(lines[re.Row], good[re.Row], re.Err)...)
		}
		var g2 []feature.Feature
		var l2 []int
		for i := range good {
			if !drop[i] {
				g2, l2 = append(g2, good[i]), append(l2, lines[i])
			}
		}
		good, lines = g2, l2
		slices.SortStableFunc(bad, func(a, b importer.RowError) int { return a.Line - b.Line })
	}
	if len(bad) > 0 {
		printBad(stdout, bad)
		if !*dryRun {
			if err := writeRejects(rejectPath, tb, bad); err != nil {
				return fail(1, "%v (the good rows were imported)", err)
			}
			fmt.Fprintf(stdout, "rejected %d %s: written to %s\n", len(distinctLines(bad)), plural(len(distinctLines(bad)), "row", "rows"), rejectPath)
		}
	}
	if *dryRun {
		fmt.Fprintf(stdout, "dry run: %d rows would be imported into %s, %d rejected; nothing written\n", len(good), l.Name, len(distinctLines(bad)))
		return 0
	}
	fmt.Fprintf(stdout, "imported into %s: inserted %d, updated %d, unchanged %d, rejected %d (in %v)\n",
		l.Name, result.Inserted, result.Updated, result.Unchanged, len(distinctLines(bad)), time.Since(start).Round(time.Millisecond))
	return 0
}

// parseWithFiles parses args like parse, flags and file names in any order, and
// returns the file names.
func parseWithFiles(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, int, bool) {
	var files []string
	i := slices.Index(args, "--")
	if i >= 0 {
		files = append(files, args[i+1:]...)
		args = args[:i]
	}
	if code, ok := parse(fs, nil, stdout); !ok {
		return nil, code, false
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			_, code, ok := parseHelp(fs, stdout)
			return nil, code, ok
		}
	}
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, 2, false
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	return files, 0, true
}

func parseHelp(fs *flag.FlagSet, stdout io.Writer) ([]string, int, bool) {
	code, ok := parse(fs, []string{"--help"}, stdout)
	return nil, code, ok
}

// importOptions builds the mapper's options from the flags; code is the exit code
// of an error.
func importOptions(crs string, maps, sets, values []string, idPrefix string) (importer.Options, int, error) {
	c, err := importer.ParseCRS(crs)
	if err != nil {
		return importer.Options{}, 2, fmt.Errorf("--crs: %w", err)
	}
	m, err := pairs("map", maps)
	if err != nil {
		return importer.Options{}, 2, err
	}
	st, err := pairs("set", sets)
	if err != nil {
		return importer.Options{}, 2, err
	}
	v, err := valueMaps(values)
	if err != nil {
		return importer.Options{}, 2, err
	}
	return importer.Options{CRS: c, Map: m, Set: st, Values: v, IDPrefix: idPrefix}, 0, nil
}

// openImportStore opens the chosen store, which must exist and be migrated, and
// must not be held by a running server.
func openImportStore(ctx context.Context, st storeSpec, reg *layers.Registry) (importStore, error) {
	return st.openExisting(ctx, reg, "create it with riskmap migrate --gpkg "+st.GPKG+", or give --database-url",
		"stop it first: the import writes the file itself, in one transaction")
}

// storeRowErrors returns the *store.RowError in err (one, or several joined).
func storeRowErrors(err error) []*store.RowError {
	var out []*store.RowError
	var walk func(error)
	walk = func(e error) {
		var re *store.RowError
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(e, &re) {
			out = append(out, re)
		}
	}
	walk(err)
	return out
}

// rowErrorsOf turns a store's refusal of one row into report lines.
func rowErrorsOf(line int, f feature.Feature, err error) []importer.RowError {
	var ve *layers.ValidationError
	if errors.As(err, &ve) {
		var out []importer.RowError
		for _, p := range ve.Problems {
			v := ""
			if x, ok := f.Props[p.Field]; ok && x != nil {
				v = fmt.Sprint(x)
			} else if p.Field == "geometry" && f.Geometry != nil {
				v = wkt.MarshalString(f.Geometry)
			}
			out = append(out, importer.RowError{Line: line, Field: p.Field, Value: v, Reason: p.Reason})
		}
		return out
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return []importer.RowError{{Line: line, Field: ce.Field, Value: ce.Value, Reason: "is used by another row or feature"}}
	}
	return []importer.RowError{{Line: line, Field: "row", Reason: err.Error()}}
}

func printColumns(w io.Writer, l *layers.Layer, res *importer.Result) {
	var cols []string
	for _, name := range append(l.FieldNames(), "geometry") {
		if c, ok := res.Columns[name]; ok {
			if strings.HasPrefix(c, "=") {
				cols = append(cols, name+" = "+strings.TrimPrefix(c, "="))
			} else if c != name {
				cols = append(cols, name+" ← "+c)
			} else {
				cols = append(cols, name)
			}
		}
	}
	fmt.Fprintf(w, "fields: %s\n", strings.Join(cols, ", "))
	if len(res.Ignored) > 0 {
		fmt.Fprintf(w, "ignored columns: %s\n", strings.Join(res.Ignored, ", "))
	}
	if len(res.Duplicates) > 0 {
		fmt.Fprintf(w, "dropped %d %s repeating an earlier row exactly (lines %s)\n", len(res.Duplicates), plural(len(res.Duplicates), "row", "rows"), joinInts(res.Duplicates, 20))
	}
}

func printBad(w io.Writer, bad []importer.RowError) {
	fmt.Fprintf(w, "bad rows: %d\n", len(distinctLines(bad)))
	for _, e := range bad {
		fmt.Fprintf(w, "  %s\n", e.Error())
	}
}

func writeRejects(path string, tb *importer.Table, bad []importer.RowError) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("reject file: %w", err)
	}
	if err := importer.WriteRejects(f, tb, bad); err != nil {
		f.Close()
		return fmt.Errorf("reject file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("reject file %s: %w", path, err)
	}
	return nil
}

func distinctLines(errs []importer.RowError) []int {
	var out []int
	seen := make(map[int]bool, len(errs))
	for _, e := range errs {
		if !seen[e.Line] {
			seen[e.Line] = true
			out = append(out, e.Line)
		}
	}
	return out
}

func joinInts(xs []int, limit int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == limit {
			fmt.Fprintf(&b, ", … (%d more)", len(xs)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// progress shows the store's progress on w: a bar redrawn in place on a terminal,
// else a plain line at every tenth of the rows.
type progress struct {
	w        io.Writer
	total    int
	tty      bool
	lastTick int
	start    time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), lastTick: -1}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) update(done int) {
	if p.total == 0 {
		return
	}
	frac := float64(done) / float64(p.total)
	if p.tty {
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\rimporting [%s%s] %d/%d %3.0f%%", strings.Repeat("#", n), strings.Repeat(".", width-n), done, p.total, frac*100)
		return
	}
	if tick := int(frac * 10); tick > p.lastTick {
		p.lastTick = tick
		fmt.Fprintf(p.w, "import: %d of %d rows (%.0f%%, %v)\n", done, p.total, frac*100, time.Since(p.start).Round(time.Millisecond))
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
