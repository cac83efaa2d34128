// Package importer reads census data — GeoJSON, CSV and GeoPackage files as GIS
// offices and spreadsheets write them — into features of a riskmap layer.
//
// Reading is two steps. A reader (ReadGeoJSON, ReadCSV, ReadGeoPackage, or
// ReadFile by the file's extension) turns the file into a Table: the source
// columns and, per row, its 1-based source line (CSV: the line the record
// starts on, the header being line 1; GeoJSON and GeoPackage: the feature's
// position), its values and its geometry. A Mapper then turns each row into a
// feature.Feature of the layer: columns found by name (the registry's field name,
// its Chinese and English labels, common synonyms) or by an explicit mapping,
// values parsed the way offices write them (grade words, ranges, units), the
// coordinates converted from the input CRS (WGS84, CGCS2000, GCJ-02, BD-09) to
// WGS84 lon/lat degrees, then normalized and validated by the layer. Every bad
// row yields RowErrors (line, field, value, reason); nothing is dropped silently.
//
// The package is pure apart from reading the given file: no network, no store.
// Readers bound their memory on hostile input (see the Max* limits).
package importer
