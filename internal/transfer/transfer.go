// Package transfer moves a server's jobs out and back in. Export writes
// the jobs a filter selects, with the versions of the scripts they run, as
// one Document; Import reads a Document — or a list of jobs as
// `sundial jobs list --json` prints them — into a server and reports what
// became of each item. Secrets travel by name only: a Document lists the
// names its jobs are granted, never a value.
//
// It touches the scheduler's jobs and the admin store's scripts and
// secret names, through the Target it is given.
package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/internal/jsoninput"
)

// Format is the version of the Document shape that Export writes.
const Format = 1

// Document is an export: jobs as their authors write them, and the
// scripts they run. Its "jobs" list is also a config file's, so that
// `sundial jobs add -f` and a server's config accept it too.
type Document struct {
	// Format is the shape's version; Import refuses a newer one.
	Format     int          `json:"sundial_export"`
	ExportedAt time.Time    `json:"exported_at,omitzero"`
	Jobs       []jobdoc.Doc `json:"jobs"`
	// Scripts are the script versions that the jobs run: the latest of
	// each script a job runs unpinned, and each version a job pins.
	Scripts []Script `json:"scripts,omitempty"`
	// Secrets name the secrets the jobs are granted. Their values stay in
	// the vault: the receiving server needs its own.
	Secrets []string `json:"secrets,omitempty"`
	// Calendars are the calendars the jobs' triggers name; the jobs carry
	// their names, not copies of their dates.
	Calendars []Calendar `json:"calendars,omitempty"`
}

// Calendar is one exported calendar: its definition, without the state
// a server keeps.
type Calendar struct {
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	Holidays    []sundial.CalendarDay `json:"holidays,omitempty"`
	WorkingDays []sundial.CalendarDay `json:"working_days,omitempty"`
}

// Script is one exported script version.
type Script struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Lang    string `json:"lang"`
	Source  string `json:"source"`
}

// Target is the server that jobs are exported from or imported into.
type Target struct {
	Scheduler *sundial.Scheduler
	Admin     admin.Store
	// StoreScript checks a script's text as an upload would and stores it
	// as the script's next version.
	StoreScript func(ctx context.Context, name, lang, source string) (admin.Script, error)
}

// scriptTask is the task that runs uploaded scripts; its args name the
// script and may pin a version.
const scriptTask = "script"

// scriptRef is the part of a script job's args that names the script.
type scriptRef struct {
	Script  string `json:"script"`
	Version int    `json:"version"`
}

// grantRef is the part of any job's args that grants secrets.
type grantRef struct {
	Secrets []string `json:"secrets"`
}

// Export returns the jobs that f selects (every page of them), the script
// versions they run and the secret names they are granted.
func Export(ctx context.Context, t Target, f sundial.JobFilter, now time.Time) (Document, error) {
	// The scheduler's own export: the jobs' definitions, naming their
	// calendars, and those calendars.
	defs, err := t.Scheduler.Export(ctx, f)
	if err != nil {
		return Document{}, err
	}
	doc := Document{Format: Format, ExportedAt: now.UTC(), Jobs: make([]jobdoc.Doc, 0, len(defs.Jobs))}
	want := map[string]map[int]bool{} // script name → versions (0: latest)
	secrets := map[string]bool{}
	for _, j := range defs.Jobs {
		doc.Jobs = append(doc.Jobs, jobdoc.FromJob(j))
		var g grantRef
		if json.Unmarshal(j.Args, &g) == nil {
			for _, n := range g.Secrets {
				secrets[n] = true
			}
		}
		if ref, ok := scriptOf(j.Task, j.Args); ok {
			if want[ref.Script] == nil {
				want[ref.Script] = map[int]bool{}
			}
			want[ref.Script][ref.Version] = true
		}
	}
	for _, c := range defs.Calendars {
		doc.Calendars = append(doc.Calendars, Calendar{Name: c.Name, Description: c.Description, Holidays: c.Holidays, WorkingDays: c.WorkingDays})
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		versions := map[int]admin.Script{}
		for v := range want[name] {
			sc, err := t.Admin.GetScript(ctx, name, v)
			if errors.Is(err, admin.ErrScriptNotFound) {
				continue // the job would fail to run here too; Import reports it
			}
			if err != nil {
				return Document{}, fmt.Errorf("script %q: %w", name, err)
			}
			versions[sc.Version] = sc
		}
		for _, v := range slices.Sorted(maps.Keys(versions)) {
			sc := versions[v]
			doc.Scripts = append(doc.Scripts, Script{Name: sc.Name, Version: sc.Version, Lang: sc.Lang, Source: sc.Source})
		}
	}
	doc.Secrets = slices.Sorted(maps.Keys(secrets))
	return doc, nil
}

func scriptOf(task string, args json.RawMessage) (scriptRef, bool) {
	var ref scriptRef
	if task != scriptTask || json.Unmarshal(args, &ref) != nil || ref.Script == "" {
		return scriptRef{}, false
	}
	return ref, true
}

// stateFields are the parts of a job's read form that its author does not
// write; Clean drops them, so that `sundial jobs list --json` output and
// `jobs get --json` output can be imported as they are.
var stateFields = []string{"next_run_at", "version", "created_at", "updated_at", "source", "pause_reason", "description"}

// Clean drops the state fields from a job's read form (a JSON object);
// anything else is returned as it is, for the decoder to refuse.
func Clean(raw json.RawMessage) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return raw
	}
	n := len(fields)
	for _, k := range stateFields {
		delete(fields, k)
	}
	if len(fields) == n {
		return raw
	}
	clean, err := jsoninput.Marshal(fields)
	if err != nil {
		return raw
	}
	return clean
}

// document is a Document as read: jobs stay raw until each is checked,
// and the listing of `GET /jobs` (next_cursor) is accepted too.
type document struct {
	Format     *int              `json:"sundial_export"`
	ExportedAt time.Time         `json:"exported_at"`
	Jobs       []json.RawMessage `json:"jobs"`
	Scripts    []Script          `json:"scripts"`
	Secrets    []string          `json:"secrets"`
	Calendars  []Calendar        `json:"calendars"`
	NextCursor string            `json:"next_cursor"`
}

// Read parses an import: a Document, a config file's {"jobs": [...]}, a
// list of jobs as `jobs list --json` prints it, or one job, in JSON. Every
// job is checked. Its errors are *jsoninput.Problem, naming the value at
// fault by its path in the document, such as "jobs[1].trigger".
func Read(data []byte) (Document, error) {
	data = bytes.TrimSpace(data)
	var doc document
	var jobs []json.RawMessage
	prefix := "jobs"
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := jsoninput.Decode(data, &jobs); err != nil {
			return Document{}, err
		}
		prefix = ""
	case len(data) > 0 && data[0] == '{':
		var keys map[string]json.RawMessage
		if err := jsoninput.Decode(data, &keys); err != nil {
			return Document{}, err
		}
		_, hasJobs := keys["jobs"]
		_, hasFormat := keys["sundial_export"]
		if !hasJobs && !hasFormat {
			jobs = []json.RawMessage{data} // one job
			prefix = "(one job)"
			break
		}
		if err := jsoninput.Decode(data, &doc); err != nil {
			return Document{}, err
		}
		jobs = doc.Jobs
	default:
		return Document{}, &jsoninput.Problem{Msg: "expected an export, a list of jobs or a job (a JSON or YAML object or list)"}
	}
	if doc.Format != nil && *doc.Format > Format {
		return Document{}, &jsoninput.Problem{Path: "sundial_export", Msg: fmt.Sprintf("format %d is newer than this server reads (%d)", *doc.Format, Format)}
	}
	if len(jobs) == 0 && len(doc.Scripts) == 0 && len(doc.Calendars) == 0 {
		return Document{}, &jsoninput.Problem{Path: "jobs", Msg: "nothing to import: the document holds no jobs"}
	}
	at := func(i int, field string) string {
		switch prefix {
		case "(one job)":
			return field
		case "":
			return jsoninput.Under(jsoninput.Join("", i), field)
		}
		return jsoninput.Under(jsoninput.Join(prefix, i), field)
	}
	out := Document{Format: Format, ExportedAt: doc.ExportedAt, Scripts: doc.Scripts, Secrets: doc.Secrets, Calendars: doc.Calendars,
		Jobs: make([]jobdoc.Doc, 0, len(jobs))}
	seen := map[string]bool{}
	for i, raw := range jobs {
		job, err := jobdoc.Decode(Clean(raw))
		var invalid *sundial.InvalidJobError
		switch {
		case errors.As(err, &invalid):
			msg := invalid.Err.Error()
			if invalid.Err == nil {
				msg = "is not valid"
			}
			return Document{}, &jsoninput.Problem{Path: at(i, invalid.Field), Msg: msg}
		case err != nil:
			return Document{}, &jsoninput.Problem{Path: at(i, ""), Msg: err.Error()}
		case job.ID == "":
			return Document{}, &jsoninput.Problem{Path: at(i, "id"), Msg: "is required in an import, so that importing twice changes nothing"}
		case seen[job.ID]:
			return Document{}, &jsoninput.Problem{Path: at(i, "id"), Msg: fmt.Sprintf("%q appears twice", job.ID)}
		}
		seen[job.ID] = true
		out.Jobs = append(out.Jobs, jobdoc.FromJob(job))
	}
	for i, c := range out.Calendars {
		_, err := sundial.Calendar{Name: c.Name, Description: c.Description, Holidays: c.Holidays, WorkingDays: c.WorkingDays}.Normalize()
		if ic, ok := errors.AsType[*sundial.InvalidCalendarError](err); ok {
			return Document{}, &jsoninput.Problem{Path: jsoninput.Under(jsoninput.Join("calendars", i), ic.Field), Msg: ic.Err.Error()}
		}
	}
	for i, sc := range out.Scripts {
		if sc.Name == "" || sc.Version < 1 {
			return Document{}, &jsoninput.Problem{Path: jsoninput.Join("scripts", i), Msg: "name and a version of 1 or more are required"}
		}
	}
	return out, nil
}

// Options choose how Import treats what the server already has: as the
// scheduler's own import does.
type Options = sundial.ImportOptions

// Item is what became of one thing an import named: a job or a calendar
// as the scheduler reports them, and a script ("report.py@3") or secret,
// which may also be missing (a secret the server does not have, or a
// script a job needs and the import does not carry).
type Item = sundial.ImportItem

// Report lists what an import did, or with DryRun would do, item by item.
type Report struct {
	DryRun bool   `json:"dry_run"`
	Items  []Item `json:"items"`
}

// Import brings doc's scripts and jobs into t. Script versions whose
// text the server already has, in any version, are reused, others are stored as new
// versions, and jobs that pin a version are pinned to the version it
// became. It stops at the first failure, returning the report so far.
func Import(ctx context.Context, t Target, doc Document, o Options) (Report, error) {
	rep := Report{DryRun: o.DryRun, Items: []Item{}}
	versions, err := importScripts(ctx, t, doc.Scripts, o, &rep)
	if err != nil {
		return rep, err
	}
	if err := checkSecrets(ctx, t, doc, &rep); err != nil {
		return rep, err
	}
	for _, c := range doc.Calendars {
		item, err := t.Scheduler.ImportCalendar(ctx, sundial.Calendar{Name: c.Name, Description: c.Description,
			Holidays: c.Holidays, WorkingDays: c.WorkingDays, Source: admin.SourceAPI}, o)
		if err != nil {
			return rep, err
		}
		rep.Items = append(rep.Items, item)
	}
	for _, d := range doc.Jobs {
		job, err := d.Job()
		if err != nil {
			return rep, fmt.Errorf("job %q: %w", d.ID, err)
		}
		if ref, ok := scriptOf(job.Task, job.Args); ok {
			if err := pinScript(ctx, t, &job, ref, versions, &rep); err != nil {
				return rep, err
			}
		}
		item, err := importJob(ctx, t, job, o)
		if err != nil {
			return rep, fmt.Errorf("job %q: %w", job.ID, err)
		}
		rep.Items = append(rep.Items, item)
	}
	return rep, nil
}

// dryRunVersion stands for the version a dry run would have stored.
const dryRunVersion = -1

// importScripts stores the script versions the server lacks and returns,
// per script name, the server's version for each exported version.
func importScripts(ctx context.Context, t Target, scripts []Script, o Options, rep *Report) (map[string]map[int]int, error) {
	versions := map[string]map[int]int{}
	for _, sc := range scripts {
		id := fmt.Sprintf("%s@%d", sc.Name, sc.Version)
		if versions[sc.Name] == nil {
			versions[sc.Name] = map[int]int{}
		}
		same, err := sameScript(ctx, t.Admin, sc)
		if err != nil {
			return nil, fmt.Errorf("script %s: %w", id, err)
		}
		if same > 0 {
			versions[sc.Name][sc.Version] = same
			rep.Items = append(rep.Items, Item{Kind: "script", ID: id, Action: "unchanged", Detail: fmt.Sprintf("the server's version %d has the same text", same)})
			continue
		}
		if o.DryRun {
			versions[sc.Name][sc.Version] = dryRunVersion
			rep.Items = append(rep.Items, Item{Kind: "script", ID: id, Action: "created", Detail: "as a new version"})
			continue
		}
		stored, err := t.StoreScript(ctx, sc.Name, sc.Lang, sc.Source)
		if err != nil {
			return nil, fmt.Errorf("script %s: %w", id, err)
		}
		versions[sc.Name][sc.Version] = stored.Version
		rep.Items = append(rep.Items, Item{Kind: "script", ID: id, Action: "created", Detail: fmt.Sprintf("as version %d", stored.Version)})
	}
	return versions, nil
}

// sameScript returns the server's newest version of sc's name that has
// sc's text and language, or 0.
func sameScript(ctx context.Context, a admin.Store, sc Script) (int, error) {
	have, err := a.ScriptVersions(ctx, sc.Name)
	if errors.Is(err, admin.ErrScriptNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256([]byte(sc.Source))
	for _, v := range have { // newest first
		if v.Checksum == hex.EncodeToString(sum[:]) && v.Lang == sc.Lang {
			return v.Version, nil
		}
	}
	return 0, nil
}

// pinScript points a script job that pins a version at the server's
// version of the same text, and reports a script the server lacks.
func pinScript(ctx context.Context, t Target, job *sundial.Job, ref scriptRef, versions map[string]map[int]int, rep *Report) error {
	if ref.Version == 0 {
		if _, err := t.Admin.GetScript(ctx, ref.Script, 0); errors.Is(err, admin.ErrScriptNotFound) && len(versions[ref.Script]) == 0 {
			rep.Items = append(rep.Items, Item{Kind: "script", ID: ref.Script, Action: "missing",
				Detail: fmt.Sprintf("job %s runs it; push it before the job runs", job.ID)})
		}
		return nil
	}
	v, ok := versions[ref.Script][ref.Version]
	if !ok {
		rep.Items = append(rep.Items, Item{Kind: "script", ID: fmt.Sprintf("%s@%d", ref.Script, ref.Version), Action: "missing",
			Detail: fmt.Sprintf("job %s pins it and the import does not carry it; the job keeps the pin", job.ID)})
		return nil
	}
	if v == ref.Version || v == dryRunVersion {
		return nil
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(job.Args, &args); err != nil {
		return fmt.Errorf("job %q: args: %w", job.ID, err)
	}
	args["version"], _ = json.Marshal(v)
	job.Args, _ = json.Marshal(args)
	return nil
}

// checkSecrets reports the granted secrets that the server does not have.
func checkSecrets(ctx context.Context, t Target, doc Document, rep *Report) error {
	names := map[string]bool{}
	for _, n := range doc.Secrets {
		names[n] = true
	}
	for _, d := range doc.Jobs {
		var g grantRef
		if json.Unmarshal(d.Args, &g) == nil {
			for _, n := range g.Secrets {
				names[n] = true
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		_, err := t.Admin.GetSecret(ctx, n)
		switch {
		case errors.Is(err, admin.ErrSecretNotFound):
			rep.Items = append(rep.Items, Item{Kind: "secret", ID: n, Action: "missing", Detail: "set it on this server: values are never exported"})
		case err != nil:
			return fmt.Errorf("secret %q: %w", n, err)
		}
	}
	return nil
}

// importJob creates or updates the job as the scheduler's ImportJob does;
// a job it creates is marked as the API's.
func importJob(ctx context.Context, t Target, job sundial.Job, o Options) (Item, error) {
	job.Source = admin.SourceAPI
	return t.Scheduler.ImportJob(ctx, job, o)
}

// Summary counts a report's items by kind and action, such as
// "jobs: 3 created, 1 unchanged; scripts: 1 created".
func (r Report) Summary() string {
	counts := map[string]map[string]int{}
	for _, it := range r.Items {
		if counts[it.Kind] == nil {
			counts[it.Kind] = map[string]int{}
		}
		counts[it.Kind][it.Action]++
	}
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(counts)) {
		var acts []string
		for _, a := range slices.Sorted(maps.Keys(counts[kind])) {
			acts = append(acts, fmt.Sprintf("%d %s", counts[kind][a], a))
		}
		parts = append(parts, kind+"s: "+strings.Join(acts, ", "))
	}
	if len(parts) == 0 {
		return "nothing to import"
	}
	return strings.Join(parts, "; ")
}
