package httpapi

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// The API reference page: a static HTML page whose script reads /openapi.json from the same
// server and renders it. Everything it needs is embedded, so it works on a machine with no
// internet access; the CSP below forbids loading anything from elsewhere.
//
//go:embed docs
var docsFiles embed.FS

// docsCSP allows only this server's own files; the page fetches /openapi.json (connect-src).
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// MountDocs serves the API reference page at /docs and its assets under /docs/, without
// authentication.
func MountDocs(r chi.Router) { registerDocs(r) }

func registerDocs(r chi.Router) {
	sub, err := fs.Sub(docsFiles, "docs")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/docs/", http.FileServerFS(sub))
	r.Get("/docs", func(w http.ResponseWriter, _ *http.Request) {
		docsHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	r.Get("/docs/", func(w http.ResponseWriter, r *http.Request) {
		// One address for the page, so its relative links resolve the same way.
		http.Redirect(w, r, "/docs", http.StatusMovedPermanently)
	})
	r.Get("/docs/*", func(w http.ResponseWriter, r *http.Request) {
		docsHeaders(w)
		files.ServeHTTP(w, r)
	})
}

func docsHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}
