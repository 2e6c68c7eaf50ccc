package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

func (a *API) registerOutput() {
	a.handle("GET", v1+"/runs/{id}/output", admin.RoleViewer, a.writeProblem, a.runOutput)
}

// OutputEvent is the data of a server-sent "output" event: text the run
// wrote since the last event, or, with Reset, the whole kept output (the
// start of it was cut to stay within the output limit).
type OutputEvent struct {
	Text  string `json:"text"`
	Reset bool   `json:"reset,omitempty"`
}

// runOutput answers a run's output: as text/plain, or, with ?follow=1 (or
// Accept: text/event-stream), as server-sent events while the run goes
// on: "output" events as it writes, then one "end" event with the run.
// A run executing on this node is followed as it writes; one on another
// node through the store, where its node saves its output every few
// seconds.
func (a *API) runOutput(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := a.s.RunByID(r.Context(), id)
	if err != nil {
		return err
	}
	follow := r.URL.Query().Get("follow") == "1" || r.URL.Query().Get("follow") == "true" ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if !follow {
		text := run.Output
		if live, _, ok := a.s.LiveOutput(id); ok {
			text = live
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, err := w.Write([]byte(text))
		return err
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	sent := ""
	emit := func(text string) {
		switch {
		case text == sent:
		case strings.HasPrefix(text, sent):
			send("output", OutputEvent{Text: text[len(sent):]})
		default:
			send("output", OutputEvent{Text: text, Reset: true})
		}
		sent = text
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		if text, changed, ok := a.s.LiveOutput(id); ok {
			emit(text)
			select {
			case <-r.Context().Done():
				return nil
			case <-changed:
			case <-ping.C:
				fmt.Fprint(w, ": ping\n\n")
				if flusher != nil {
					flusher.Flush()
				}
			}
			continue
		}
		run, err := a.s.RunByID(r.Context(), id)
		if err != nil {
			return nil // the stream has begun: the client sees it end
		}
		// A store's copy of a running run's output lags what this stream may
		// have sent from the live buffer: only a copy that extends it, or the
		// ended run's final output, is news.
		if !run.Status.Active() || strings.HasPrefix(run.Output, sent) {
			emit(run.Output)
		}
		if !run.Status.Active() {
			run.Output = ""
			send("end", run)
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}
