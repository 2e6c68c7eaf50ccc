package httpapi

import (
	"net/http"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/notify"
)

// MetaView is GET /meta: the server's vocabulary — roles, run statuses,
// notification formats, task kinds — so that clients (the web UI first)
// hold no copies of it that drift.
type MetaView struct {
	Version string `json:"version,omitempty"`
	// Roles lists the token roles; each may do what those in Includes may.
	Roles []RoleView `json:"roles"`
	// RunStatuses lists every run status, and whether a run in it has not
	// ended yet.
	RunStatuses []RunStatusView `json:"run_statuses"`
	// NotificationFormats are the webhook formats of job notifications.
	NotificationFormats []string `json:"notification_formats"`
	// Tasks are the tasks this server runs itself (worker tasks: GET
	// /workers).
	Tasks []string `json:"tasks"`
}

// RoleView is a token role.
type RoleView struct {
	Name     admin.Role   `json:"name"`
	Includes []admin.Role `json:"includes"`
}

// RunStatusView is a run status.
type RunStatusView struct {
	Name   sundial.RunStatus `json:"name"`
	Active bool              `json:"active"`
}

var roles = []admin.Role{admin.RoleViewer, admin.RoleOperator, admin.RoleAdmin, admin.RoleWorker}

func (a *API) meta(w http.ResponseWriter, r *http.Request) error {
	out := MetaView{Version: a.version, NotificationFormats: notify.Formats, Tasks: a.s.Tasks()}
	for _, role := range roles {
		v := RoleView{Name: role, Includes: []admin.Role{}}
		for _, other := range roles {
			if role.Allows(other) {
				v.Includes = append(v.Includes, other)
			}
		}
		out.Roles = append(out.Roles, v)
	}
	for _, st := range runStatuses {
		out.RunStatuses = append(out.RunStatuses, RunStatusView{Name: st, Active: st.Active()})
	}
	return writeJSON(w, http.StatusOK, out)
}
