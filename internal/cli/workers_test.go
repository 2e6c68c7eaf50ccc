package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
)

func TestWorkersCommands(t *testing.T) {
	a := newAPIServer(t)
	var tok httpapi.NewTokenView
	out := a.mustCLI(admin.RoleAdmin, "token", "create", "--name", "billing", "--role", "worker", "--queue", "billing", "--json")
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.Role != admin.RoleWorker || len(tok.Queues) != 1 || tok.Queues[0] != "billing" {
		t.Fatalf("worker token = %s (%v)", out, err)
	}
	if code, _, errOut := a.cli(admin.RoleAdmin, "token", "create", "--name", "x", "--role", "viewer", "--queue", "billing"); code != ExitUsage || !strings.Contains(errOut, "--queue") {
		t.Errorf("--queue on a viewer token: exit %d, %s", code, errOut)
	}

	if code, _, errOut := a.cli(admin.RoleAdmin, "jobs", "add", "--id", "nightly", "--task", "send_report", "--trigger", "0 3 * * *"); code == ExitOK || !strings.Contains(errOut, "declare_task") {
		t.Errorf("a job of an unknown task: exit %d, %s; want a refusal that says how to declare it", code, errOut)
	}
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "nightly", "--task", "send_report", "--trigger", "0 3 * * *", "--declare-task")
	out = a.mustCLI(admin.RoleViewer, "workers", "list")
	if !strings.Contains(out, "send_report") || !strings.Contains(out, "no live worker: its runs wait") {
		t.Errorf("workers list before any worker:\n%s", out)
	}
	if out := a.mustCLI(admin.RoleViewer, "jobs", "get", "nightly", "--json"); !strings.Contains(out, `"waiting": "no live worker serves task \"send_report\"`) {
		t.Errorf("a job whose task no worker serves does not say it waits:\n%s", out)
	}
	if _, err := a.s.OpenWorkerSession(context.Background(), sundial.WorkerInfo{Name: "web-1", Tasks: []string{"send_report"}, Capacity: 4, Host: "web"}); err != nil {
		t.Fatal(err)
	}
	if out := a.mustCLI(admin.RoleViewer, "jobs", "get", "nightly", "--json"); strings.Contains(out, `"waiting"`) {
		t.Errorf("a job whose task a live worker serves says it waits:\n%s", out)
	}
	if code, _, errOut := a.cli(admin.RoleAdmin, "workers", "forget-task", "send_report"); code == ExitOK || !strings.Contains(errOut, "web-1 serves it") {
		t.Errorf("forget-task of a served task: exit %d, %s", code, errOut)
	}
	out = a.mustCLI(admin.RoleViewer, "workers", "list")
	for _, want := range []string{"web-1", "live", "0/4", "send_report  web-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("workers list does not show %q:\n%s", want, out)
		}
	}
}

func TestWorkersForgetTask(t *testing.T) {
	a := newAPIServer(t)
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "nightly", "--task", "send_report", "--trigger", "0 3 * * *", "--declare-task")
	if out := a.mustCLI(admin.RoleAdmin, "workers", "forget-task", "send_report"); !strings.Contains(out, "send_report is no longer a worker task") {
		t.Errorf("forget-task = %s", out)
	}
	if code, _, errOut := a.cli(admin.RoleAdmin, "workers", "forget-task", "send_report"); code == ExitOK || !strings.Contains(errOut, "not a worker task") {
		t.Errorf("forget-task twice: exit %d, %s", code, errOut)
	}
	if out := a.mustCLI(admin.RoleViewer, "workers", "list"); strings.Contains(out, "send_report") {
		t.Errorf("workers list still shows the task:\n%s", out)
	}
}
