package health

import (
	"net/http"
	"strconv"
)

// allowedMethods is the Allow header of every endpoint.
const allowedMethods = "GET, HEAD"

// endpoint serves a verdict over HTTP: GET gets it in the format the Accept
// header asks for, HEAD the same status and headers without the body, any
// other method 405.
type endpoint func(r *http.Request) verdict

func (e endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", allowedMethods)
		write(w, r, http.StatusMethodNotAllowed, contentTypeJSON, []byte(`{"error":"method not allowed"}`+"\n"))
		return
	}
	v := e(r)
	code := http.StatusOK
	switch {
	case v.broken:
		code = http.StatusInternalServerError
	case v.status == fail:
		code = http.StatusServiceUnavailable
	}
	ctype, body := encode(v, wantsHealthJSON(r.Header.Values("Accept")))
	write(w, r, code, ctype, body)
}

// write sends an answer that no cache may keep. Content-Length is set so that
// HEAD, which gets no body, has the headers of GET.
func write(w http.ResponseWriter, r *http.Request, code int, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the prober hung up: nothing to do
	}
}
