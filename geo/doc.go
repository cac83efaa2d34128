// Package geo holds the pure geometry used by the risk-map server: geodesic
// distances and destinations on the WGS84 ellipsoid, PostGIS-compatible
// distances to lines and polygons, and planar coverage tests of lines and
// rings by polygons.
//
// Coordinates are WGS84 longitude/latitude in degrees, carried as
// orb.Point{lon, lat} (EPSG:4326 axis order lon, lat). Lengths are in meters
// measured along the ellipsoid; angles are in degrees unless a name says
// otherwise.
//
// The geodesic routines implement the algorithms of C. F. F. Karney,
// "Algorithms for geodesics", J. Geodesy 87, 43–55 (2013),
// https://doi.org/10.1007/s00190-012-0578-z, with the series truncated at
// order 6 in the third flattening n. For WGS84 their truncation error is a
// few nanometres, so Distance agrees with PostGIS ST_Distance on geography
// (which calls GeographicLib's implementation of the same algorithm) far
// below a millimetre, for every pair of points, including nearly antipodal
// ones.
//
// DistanceToGeometry and GeometryDistance measure from a point, or from any
// geometry, to Points, LineStrings, Polygons (with holes) and their Multi
// forms the way PostGIS 3.3 ST_Distance on geography does, so that
// proximity answers (kNN, radius, "within 200 m of this route") agree with
// PostGIS's to well under a millimetre: the nearest pair of points is
// chosen on a sphere with great-circle edges and then measured on the
// ellipsoid, and touching or containing gives 0. geodist.go documents the
// details, including where this differs from the true ellipsoidal minimum.
//
// WGS84ToGCJ02 and GCJ02ToWGS84 convert to and from GCJ-02, the obfuscated
// datum of Chinese basemaps (AMap, Tencent): a deterministic offset of a few
// hundred meters (about 600 m in Shenzhen) applied inside a rough bounding box
// of China, [72.004, 137.8347]°E × [0.8293, 55.8271]°N, and nowhere else.
// Data digitized on such a basemap must be converted with GCJ02ToWGS84 before
// it is measured or mixed with WGS84 data. The forward transform is the
// published closed formula; the inverse is solved iteratively to 1e-9°.
// gcj02.go documents the details and the accuracy against real data (a meter
// or two).
//
// The package's only package-level state is a sync.Pool of scratch space for
// GeometryDistance; every function is safe for concurrent use.
package geo
