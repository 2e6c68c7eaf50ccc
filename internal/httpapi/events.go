package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

func (a *API) registerEvents() {
	a.handle("GET", v1+"/events", admin.RoleViewer, a.writeProblem, a.events)
}

// ChangeEvent is the data of a server-sent "change" event: something about
// a job, a run or a worker changed on this node. Clients refetch what they
// show.
type ChangeEvent struct {
	Kind   string `json:"kind"`
	JobID  string `json:"job_id,omitempty"`
	RunID  string `json:"run_id,omitempty"`
	Status string `json:"status,omitempty"`
	Worker string `json:"worker,omitempty"`
}

// events streams the scheduler's job, run and worker events as server-sent
// "change" events, for pages that update live. Each node sends its own
// events; pages also refetch now and then for changes made elsewhere.
func (a *API) events(w http.ResponseWriter, r *http.Request) error {
	sub := a.s.Subscribe(256)
	defer sub.Close()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": sundial events\n\n")
	if flusher != nil {
		flusher.Flush()
	}
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			ce := ChangeEvent{Kind: string(e.Kind), Worker: e.Worker}
			if e.Job != nil {
				ce.JobID = e.Job.ID
			}
			if e.Run != nil {
				ce.JobID, ce.RunID, ce.Status = e.Run.JobID, e.Run.ID, string(e.Run.Status)
			}
			b, _ := json.Marshal(ce)
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}
