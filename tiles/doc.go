// Package tiles renders Mapbox Vector Tiles (MVT 2.1) from the in-memory index: one
// MVT layer per riskmap layer, geometry projected to Web Mercator tile units,
// clipped to the tile plus a buffer and simplified per zoom, dense point layers
// aggregated into clusters below a zoom, properties from the layer registry. It also
// keeps the tile cache, which the index's Apply drops tiles from before a change
// becomes visible, and builds TileJSON and the MapLibre style.
//
// Coordinates: features are WGS84 lon/lat degrees (the index's). A tile is addressed
// by zoom z and column/row x/y of the Web Mercator (EPSG:3857) grid, x east and y
// south from the north-west corner, as in URLs /{z}/{x}/{y}. Tile units: 0..Extent
// (4096) across a tile, y down, as MVT defines them. With CRS GCJ02 the same grid is
// laid over GCJ-02 coordinates (AMap, Tencent basemaps): every vertex is moved by
// geo.WGS84ToGCJ02 before it is projected.
//
// The package is pure: no network, no database. It reads the index through the
// Source interface and writes protobuf with package tiles/mvt.
package tiles
