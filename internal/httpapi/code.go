package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/secrets"
	"github.com/sundialhq/sundial/task"
)

// Uploaded scripts and named secrets: code and credentials, changed only
// by admins and recorded in the audit log.

func (a *API) registerCode() {
	p := a.writeProblem
	viewer, adm := admin.RoleViewer, admin.RoleAdmin
	a.handle("GET", v1+"/scripts", viewer, p, a.listScripts)
	a.handle("POST", v1+"/scripts", adm, p, a.pushScript)
	a.handle("GET", v1+"/scripts/{name}", viewer, p, a.getScript)
	a.handle("GET", v1+"/scripts/{name}/versions", viewer, p, a.scriptVersions)
	a.handle("GET", v1+"/scripts/{name}/versions/{version}", viewer, p, a.getScriptVersion)
	a.handle("POST", v1+"/scripts/{name}/rollback", adm, p, a.rollbackScript)
	a.handle("POST", v1+"/scripts/test-run", adm, p, a.testRun)
	a.handle("GET", v1+"/secrets", adm, p, a.listSecrets)
	a.handle("PUT", v1+"/secrets/{name}", adm, p, a.putSecret)
	a.handle("DELETE", v1+"/secrets/{name}", adm, p, a.deleteSecret)
}

// ScriptUpload pushes a new version of a script.
type ScriptUpload struct {
	Name   string `json:"name"`
	Lang   string `json:"lang"`
	Source string `json:"source"`
}

// ScriptView is a stored script version, with a warning when it could not
// be checked.
type ScriptView struct {
	admin.Script
	Warning string `json:"warning,omitempty"`
	// Unchanged is set when the upload was the latest version's source
	// and language again: no version was added.
	Unchanged bool `json:"unchanged,omitempty"`
}

// maxScriptBytes bounds an uploaded script.
const maxScriptBytes = 512 << 10

func (a *API) storeScript(r *http.Request, name, lang, source, note string) (ScriptView, error) {
	if !task.ScriptName.MatchString(name) {
		return ScriptView{}, badInput("name", "%q: use letters, digits, '.', '_' and '-', up to 100 characters", name)
	}
	if len(source) > maxScriptBytes {
		return ScriptView{}, badInput("source", "%d bytes is more than %d", len(source), maxScriptBytes)
	}
	if strings.TrimSpace(source) == "" {
		return ScriptView{}, badInput("source", "is empty")
	}
	warning := ""
	if a.checkScript != nil {
		w, err := a.checkScript(r.Context(), lang, name, source)
		if err != nil {
			field := "source"
			if strings.HasPrefix(err.Error(), "language") {
				field = "lang"
			}
			return ScriptView{}, badInput(field, "%v", err)
		}
		warning = w
	}
	sum := sha256.Sum256([]byte(source))
	if latest, err := a.admin.GetScript(r.Context(), name, 0); err == nil && latest.Lang == lang && latest.Checksum == hex.EncodeToString(sum[:]) && note == "" {
		// Pushing what is there already (a deploy step run twice) adds no
		// version: history records changes.
		return ScriptView{Script: latest, Warning: warning, Unchanged: true}, nil
	}
	sc, err := a.admin.AddScriptVersion(r.Context(), admin.Script{Name: name, Lang: lang, Source: source,
		Checksum: hex.EncodeToString(sum[:]), Author: actorOf(r.Context()), CreatedAt: a.now(), Note: note})
	if err != nil {
		return ScriptView{}, err
	}
	return ScriptView{Script: sc, Warning: warning}, nil
}

func (a *API) pushScript(w http.ResponseWriter, r *http.Request) error {
	var up ScriptUpload
	if err := decodeBody(r, &up); err != nil {
		return err
	}
	v, err := a.storeScript(r, up.Name, up.Lang, up.Source, "")
	if err != nil {
		return err
	}
	if v.Unchanged {
		return writeJSON(w, http.StatusOK, v)
	}
	a.audit(r.Context(), "script.push", v.Name, map[string]any{"version": v.Version, "lang": v.Lang, "checksum": v.Checksum})
	w.Header().Set("Location", v1+"/scripts/"+v.Name+"/versions/"+strconv.Itoa(v.Version))
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) listScripts(w http.ResponseWriter, r *http.Request) error {
	list, err := a.admin.ListScripts(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []admin.Script{}
	}
	return writeJSON(w, http.StatusOK, map[string][]admin.Script{"scripts": list})
}

func (a *API) getScript(w http.ResponseWriter, r *http.Request) error {
	sc, err := a.admin.GetScript(r.Context(), r.PathValue("name"), 0)
	if err != nil {
		return fmt.Errorf("script %q: %w", r.PathValue("name"), err)
	}
	return writeJSON(w, http.StatusOK, sc)
}

func (a *API) scriptVersions(w http.ResponseWriter, r *http.Request) error {
	list, err := a.admin.ScriptVersions(r.Context(), r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("script %q: %w", r.PathValue("name"), err)
	}
	return writeJSON(w, http.StatusOK, map[string][]admin.Script{"versions": list})
}

func versionParam(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, badInput("version", "%q is not a version number from 1", s)
	}
	return v, nil
}

func (a *API) getScriptVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := versionParam(r.PathValue("version"))
	if err != nil {
		return err
	}
	sc, err := a.admin.GetScript(r.Context(), r.PathValue("name"), v)
	if err != nil {
		return fmt.Errorf("script %q version %d: %w", r.PathValue("name"), v, err)
	}
	return writeJSON(w, http.StatusOK, sc)
}

// RollbackRequest names the version to roll back to.
type RollbackRequest struct {
	Version int `json:"version"`
}

// rollbackScript makes an old version the latest again, as a new version
// with the old source: history only grows.
func (a *API) rollbackScript(w http.ResponseWriter, r *http.Request) error {
	var req RollbackRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Version < 1 {
		return badInput("version", "%d is not a version number from 1", req.Version)
	}
	name := r.PathValue("name")
	old, err := a.admin.GetScript(r.Context(), name, req.Version)
	if err != nil {
		return fmt.Errorf("script %q version %d: %w", name, req.Version, err)
	}
	v, err := a.storeScript(r, name, old.Lang, old.Source, fmt.Sprintf("rollback to version %d", req.Version))
	if err != nil {
		return err
	}
	a.audit(r.Context(), "script.rollback", name, map[string]any{"to": req.Version, "version": v.Version})
	return writeJSON(w, http.StatusCreated, v)
}

// SecretValue sets a secret.
type SecretValue struct {
	Value string `json:"value"`
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) error {
	if a.vault == nil {
		return writeJSON(w, http.StatusOK, map[string][]admin.SealedSecret{"secrets": {}})
	}
	list, err := a.vault.List(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []admin.SealedSecret{}
	}
	return writeJSON(w, http.StatusOK, map[string][]admin.SealedSecret{"secrets": list})
}

func (a *API) putSecret(w http.ResponseWriter, r *http.Request) error {
	var req SecretValue
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := secrets.CheckName(name); err != nil {
		return badInput("name", "%v", err)
	}
	if req.Value == "" {
		return badInput("value", "is empty")
	}
	if a.vault == nil {
		return fmt.Errorf("%w: %v", errConflict, secrets.ErrNoKey)
	}
	if err := a.vault.Put(r.Context(), name, req.Value, actorOf(r.Context())); err != nil {
		if errors.Is(err, secrets.ErrNoKey) {
			return fmt.Errorf("%w: %v", errConflict, err)
		}
		return err
	}
	a.audit(r.Context(), "secret.put", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if a.vault == nil {
		return fmt.Errorf("secret %q: %w", name, admin.ErrSecretNotFound)
	}
	if err := a.vault.Delete(r.Context(), name); err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	a.audit(r.Context(), "secret.delete", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TestRunRequest runs a script's text once, without saving it or a job.
type TestRunRequest struct {
	Lang   string         `json:"lang"`
	Source string         `json:"source"`
	Args   []any          `json:"args,omitempty"`
	Kwargs map[string]any `json:"kwargs,omitempty"`
}

// TestRun is how a test run ended.
type TestRun struct {
	Status     sundial.RunStatus   `json:"status"`
	Result     json.RawMessage     `json:"result,omitempty"`
	Error      string              `json:"error,omitempty"`
	Output     string              `json:"output"`
	Exit       *sundial.ExitStatus `json:"exit,omitempty"`
	DurationMS int64               `json:"duration_ms"`
}

// TestRunner runs a script's text once, as the script kind would.
type TestRunner func(ctx context.Context, req TestRunRequest) (TestRun, error)

func (a *API) testRun(w http.ResponseWriter, r *http.Request) error {
	var req TestRunRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Source == "" {
		return badInput("source", "is empty")
	}
	if a.testRunner == nil {
		return fmt.Errorf("%w: this server cannot run scripts", errConflict)
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	res, err := a.testRunner(ctx, req)
	if err != nil {
		return err
	}
	a.audit(r.Context(), "script.test", "(test run)", map[string]any{"lang": req.Lang, "status": res.Status})
	return writeJSON(w, http.StatusOK, res)
}
