// Package static holds the command-center wall map: one page app (index.html, ES
// modules under js/, css/) and the vendored MapLibre GL JS (vendor/maplibre-gl, with
// its licence), embedded in the binary. It only embeds files; httpapi serves them.
package static

import (
	"embed"
	"io/fs"
)

//go:embed index.html css js vendor
var files embed.FS

// FS returns the page's files: index.html at the root.
func FS() fs.FS { return files }
