package serve

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// pageHTML is the browser page at GET /: one self-contained file (HTML, CSS, JS), so the
// page works offline and fetches nothing but this server's /v1 API.
//
//go:embed page/index.html
var pageHTML []byte

// registerPage adds GET / (the page) and GET /v1/info (what the page needs to know about
// the loaded model).
func (s *Server) registerPage() {
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /v1/info", s.info)
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Everything is inline; blob: URLs show the picked images.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src blob: data:; connect-src 'self'; form-action 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.Write(pageHTML)
}

// Info is GET /v1/info: the loaded model's task and route (ready false while loading).
type Info struct {
	Ready   bool     `json:"ready"`
	Task    string   `json:"task,omitempty"`  // vqa, fill-mask, nlvr2, rank; "" when the head has no route
	Route   string   `json:"route,omitempty"` // /v1/<task>
	Head    string   `json:"head,omitempty"`
	Model   string   `json:"model,omitempty"`
	Devices []string `json:"devices,omitempty"`
	Note    string   `json:"note,omitempty"` // e.g. the demo model's "random weights"
	// MaxExplain is how many pictures one request may ask to explain.
	MaxExplain int `json:"max_explain"`
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	p, _ := s.state()
	in := Info{MaxExplain: MaxExplainPictures}
	if p != nil && !s.draining.Load() {
		in.Ready = true
		in.Head = string(p.Model.Head)
		in.Model = p.Dir
		in.Devices = p.Model.LoadInfo().Devices
		in.Note = p.Model.Config.Note
		for task, h := range taskHead {
			if h == p.Model.Head {
				in.Task, in.Route = task, "/v1/"+task
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(in)
}
