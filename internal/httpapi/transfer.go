package httpapi

import (
	"context"
	"net/http"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/transfer"
)

// Export and import: the jobs a filter selects, with their scripts, as
// one document (internal/transfer), out of one server and into another.

func (a *API) registerTransfer() {
	p := a.writeProblem
	a.handle("GET", v1+"/export", admin.RoleViewer, p, a.exportJobs)
	a.handle("POST", v1+"/import", admin.RoleAdmin, p, a.importJobs)
}

// target is this server as internal/transfer sees it; scripts it stores
// go through the same checks as an upload by the request's actor.
func (a *API) target(r *http.Request) transfer.Target {
	return transfer.Target{Scheduler: a.s, Admin: a.admin,
		StoreScript: func(_ context.Context, name, lang, source string) (admin.Script, error) {
			v, err := a.storeScript(r, name, lang, source, "imported")
			return v.Script, err
		}}
}

func (a *API) exportJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	paused, err := boolParam(r, "paused")
	if err != nil {
		return err
	}
	f := sundial.JobFilter{Tag: q.Get("tag"), Task: q.Get("task"), Paused: paused}
	if q.Has("queue") {
		queue := q.Get("queue")
		f.Queue = &queue
	}
	doc, err := transfer.Export(r.Context(), a.target(r), f, a.now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

func (a *API) importJobs(w http.ResponseWriter, r *http.Request) error {
	var o transfer.Options
	for name, v := range map[string]*bool{"dry_run": &o.DryRun, "replace": &o.Replace} {
		b, err := boolParam(r, name)
		if err != nil {
			return err
		}
		*v = b != nil && *b
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	doc, err := transfer.Read(data)
	if err != nil {
		return decodeProblem(err)
	}
	rep, err := transfer.Import(r.Context(), a.target(r), doc, o)
	if !o.DryRun && len(rep.Items) > 0 {
		a.audit(r.Context(), "jobs.import", "", map[string]any{"summary": rep.Summary(), "items": rep.Items})
	}
	if err != nil && !o.DryRun && len(rep.Items) > 0 {
		return &partialImport{err: err, done: rep.Items}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
