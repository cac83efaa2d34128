package httpapi

import (
	"bytes"
	"html/template"
	"net/http"
)

// ogcHTMLBody is what an OGC HTML page shows under its title and links: a text, a
// list and tables. Every value is escaped by html/template.
type ogcHTMLBody struct {
	Text   string
	List   []string
	Tables []ogcTable
}

// ogcTable is a table of an OGC HTML page.
type ogcTable struct {
	Caption string
	Header  []string
	Rows    [][]ogcCell
}

// ogcCell is a table cell: a text, a link when Href is set.
type ogcCell struct {
	Text string
	Href string
}

// ogcPageTemplate is the one template of the OGC HTML pages: a static document, no scripts
// (the Content-Security-Policy forbids them), styles inline.
var ogcPageTemplate = template.Must(template.New("ogc").Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5rem; color: #1d2733; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #c8d0d8; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef2f5; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
nav a { margin-right: 1rem; }
</style>
</head>
<body>
<nav>{{range .Links}}<a href="{{.Href}}" rel="{{.Rel}}"{{if .Type}} type="{{.Type}}"{{end}}>{{if .Title}}{{.Title}}{{else}}{{.Rel}}{{end}}</a> {{end}}</nav>
<h1>{{.Title}}</h1>
{{with .Body.Text}}<p>{{.}}</p>{{end}}
{{with .Body.List}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Body.Tables}}<table>{{with .Caption}}<caption>{{.}}</caption>{{end}}
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</table>
{{end}}</body>
</html>
`))

// writeOGCHTML renders an OGC HTML page.
func writeOGCHTML(w http.ResponseWriter, title string, links []ogcLink, body ogcHTMLBody) error {
	var b bytes.Buffer
	if err := ogcPageTemplate.Execute(&b, struct {
		Title string
		Links []ogcLink
		Body  ogcHTMLBody
	}{title, links, body}); err != nil {
		return err
	}
	// A static document: no scripts, no frames, inline styles only.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	writeRaw(w, "text/html; charset=utf-8", b.Bytes())
	return nil
}
