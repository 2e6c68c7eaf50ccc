// The job editor: a form for a new job or an existing one, with a preview
// of the trigger's next fire times as it is typed. The form's controls
// hold what is typed (they are set once from the job); the page renders
// again only to show or hide the fields that the trigger and task call for.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, get } from "../api.js";
import { pretty } from "../format.js";
import { notificationFormats, session } from "../session.js";
import { field, text, num, area, select, check, val, list, toast, jobHref, $, $$ } from "../ui.js";

const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];

// OTHER_TASK is the editor's choice of a task typed by name: no task is
// named "" (a task name has 1 to 200 characters).
const OTHER_TASK = "";

// KINDS are the server's task kinds with fields of their own in the form.
const KINDS = ["command", "http", "python", "script"];

const CAL_UNITS = ["years", "months", "weeks", "days"];
const APS_FIELDS = ["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"];
const INTERVAL_UNITS = ["weeks", "days", "hours", "minutes", "seconds"];

// Placeholders say what an empty field means, never look like a value.
const byDefault = (v) => t("ph.default", { v });
const noneByDefault = () => t("ph.none");
const example = (v) => t("ph.example", { v });

export function editorPage(view, id) {
  let d = null; // what the form was made from
  const s = { type: "cron", dialect: "crontab", task: "", cal: "", preview: null }; // what decides the fields shown
  let timer = null;
  view.onLeave(() => clearTimeout(timer));

  async function load() {
    const [scripts, cals, workers, job] = await Promise.all([
      get("/scripts"),
      get("/calendars"),
      // Worker tasks are offered too; without the list, they can be typed.
      get("/workers").catch(() => ({ tasks: [] })),
      id ? get("/jobs/" + encodeURIComponent(id)) : null,
    ]);
    const tasks = session.meta?.tasks || [];
    // A new job starts as one that works when saved: a command that greets.
    const j =
      job ||
      (tasks.includes("command")
        ? { task: "command", args: { argv: ["echo", "hello from sundial"] }, trigger: { type: "cron", expr: "0 9 * * 1-5" }, options: {}, tags: [] }
        : { task: tasks[0], trigger: { type: "cron", expr: "0 9 * * 1-5" }, options: {}, tags: [] });
    const tr = j.trigger || {};
    // A calendar the form cannot show — dates given inline, or a calendar
    // since deleted — is kept as it is unless the user picks another.
    const keptCalendar = tr.calendar && (!tr.calendar.name || !cals.calendars.some((c) => c.name === tr.calendar.name)) ? tr.calendar : null;
    // The task is one of the server's, a worker task the server knows, or
    // one typed (OTHER_TASK): a worker's task, declared ahead of its worker.
    const workerTasks = workers.tasks.map((x) => x.name).filter((x) => !tasks.includes(x));
    const typedTask = j.task && !tasks.includes(j.task) && !workerTasks.includes(j.task) ? j.task : "";
    d = { job, j, tr, tasks, workerTasks, typedTask, keptCalendar, scripts: scripts.scripts, cals: cals.calendars };
    Object.assign(s, {
      type: tr.type || "cron",
      dialect: tr.dialect || "crontab",
      task: typedTask ? OTHER_TASK : j.task,
      cal: keptCalendar ? "=" : tr.calendar?.name || "",
    });
    draw();
    preview();
  }

  // changed follows the controls that decide which fields are shown.
  function changed(e) {
    Object.assign(s, { type: val("t-type"), dialect: val("t-dialect"), task: val("k-task"), cal: val("t-cal") });
    draw();
    if (e.type === "input" && e.target.id.startsWith("t-")) {
      clearTimeout(timer);
      timer = setTimeout(preview, 250);
    }
  }

  async function preview() {
    if (!view.alive) return;
    let spec;
    try {
      spec = triggerSpec(d.keptCalendar);
    } catch (err) {
      s.preview = { error: err.message };
      return draw();
    }
    try {
      const { data } = await api("POST", "/cron/preview", { trigger: spec, count: 10 });
      s.preview = { data };
    } catch (err) {
      s.preview = { error: err.message };
    }
    draw();
  }

  async function submit(e) {
    e.preventDefault();
    $$(".ferr", $("#editor")).forEach((x) => (x.textContent = ""));
    let doc;
    try {
      doc = jobDoc(d.job, d.keptCalendar);
    } catch (err) {
      $("#form-error").textContent = err.message;
      return;
    }
    try {
      // A typed task the server does not know yet is declared a worker
      // task when asked: its runs wait for a worker that serves it.
      const declare = val("k-task") === OTHER_TASK && $("#k-declare").checked ? "?declare_task=true" : "";
      const path = (id ? "/jobs/" + encodeURIComponent(id) : "/jobs") + declare;
      const headers = id ? { "If-Match": `"${d.job.version}"` } : {};
      const { data } = await api(id ? "PUT" : "POST", path, doc, headers);
      toast(t("toast.saved", { id: data.id }));
      location.hash = jobHref(data.id);
    } catch (err) {
      $("#form-error").textContent = err.status === 412 ? t("editor.conflict") : err.message;
      markField(err.problem?.field);
      // An unknown task typed by name: the checkbox is the way to accept it.
      if (err.problem?.field === "task" && val("k-task") === OTHER_TASK && !$("#k-declare").checked) $("#err-k-declare").textContent = t("editor.ticktodeclare");
    }
  }

  function draw() {
    if (!d) return;
    const { j, tr, tasks, workerTasks, typedTask, keptCalendar } = d;
    const o = j.options || {};
    const a = j.args || {};
    const notify = (o.notify || [])[0] || {};
    const cf = tr.fields || {};
    const { type, dialect, task } = s;
    const known = KINDS.includes(task);
    const kind = (kinds) => !kinds.split(" ").includes(known ? task : "other");
    const taskOptions = [...tasks.map((x) => [x, x]), ...workerTasks.map((x) => [x, t("editor.workertask", { name: x })]), [OTHER_TASK, t("editor.othertask")]];
    const calendarless = ["and", "or", "none"].includes(type);
    const p = s.preview;
    view.paint(html`
      <h1>${id ? t("editor.edit", { id }) : t("editor.new")}</h1>
      <form id="editor" class="editor" novalidate @input=${changed} @change=${changed} @submit=${submit}>
        <section class="card"><h2>${t("editor.job")}</h2><div class="fields">
          ${field("e-id", t("field.id"), text("e-id", j.id, id ? { readonly: true } : { required: true, pattern: "\\S+", placeholder: example("nightly-report") }))}
          ${field("e-name", t("field.name"), text("e-name", j.name))}
          ${field("e-tags", t("field.tags"), text("e-tags", (j.tags || []).join(", ")), t("hint.comma"))}
          ${field("e-queue", t("field.queue"), text("e-queue", j.queue, { placeholder: t("jobs.defaultqueue") }))}
        </div></section>

        <section class="card"><h2>${t("editor.trigger")}</h2><div class="fields">
          ${field("t-type", t("trigger.type"), select("t-type", ["cron", "interval", "date", "calendar", "and", "or", "none"].map((x) => [x, t("trigger." + x)]), tr.type || "cron"))}
          ${field(
            "t-json",
            t("trigger.json"),
            area("t-json", ["and", "or"].includes(tr.type) ? pretty(tr) : pretty({ type: "or", triggers: [{ type: "cron", expr: "0 9 * * 1-5" }, { type: "cron", expr: "0 12 * * 6" }] }), 8),
            t("hint.combination"),
            !["and", "or"].includes(type),
          )}
          ${field("t-dialect", t("trigger.dialect"), select("t-dialect", [["crontab", "crontab"], ["quartz", "Quartz (xxl-job)"], ["apscheduler", "APScheduler"]], tr.dialect || "crontab"), "", type !== "cron")}
          ${field("t-expr", t("trigger.expr"), text("t-expr", tr.expr, { placeholder: example("0 9 * * 1-5"), spellcheck: "false" }), t("hint.expr"), !(type === "cron" && dialect !== "apscheduler"))}
          <div class="fields aps" ?hidden=${!(type === "cron" && dialect === "apscheduler")}>${APS_FIELDS.map((k) => field("t-f-" + k, k, text("t-f-" + k, cf[k], { placeholder: "*" })))}</div>
          ${INTERVAL_UNITS.map((k) => field("t-" + k, t("unit." + k), num("t-" + k, tr[k], { min: "0", step: "any", placeholder: "0" }), "", type !== "interval"))}
          ${field("t-run_date", t("trigger.run_date"), text("t-run_date", tr.run_date, { placeholder: example("2026-12-24 18:00") }), "", type !== "date")}
          ${field("t-cal-unit", t("trigger.every"), select("t-cal-unit", CAL_UNITS.map((x) => [x, t("unit." + x)]), CAL_UNITS.find((k) => tr.type === "calendar" && tr[k]) || "months"), "", type !== "calendar")}
          ${field("t-cal-n", t("trigger.count"), num("t-cal-n", CAL_UNITS.map((k) => tr[k]).find(Boolean) || 1, { min: "1" }), "", type !== "calendar")}
          ${field("t-at", t("trigger.at"), text("t-at", tr.type === "calendar" ? [tr.hour || 0, tr.minute || 0, tr.second || 0].map((x) => String(x).padStart(2, "0")).join(":") : "09:00:00", { placeholder: "00:00:00" }), "", type !== "calendar")}
          ${field("t-missing", t("trigger.missing_day"), select("t-missing", [["last", t("trigger.missing.last")], ["skip", t("trigger.missing.skip")]], tr.missing_day || "last"), "", type !== "calendar")}
          ${field(
            "t-tz",
            t("trigger.timezone"),
            html`${text("t-tz", tr.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", { list: "zones" })}<datalist id="zones">${zones.map((z) => html`<option value=${z}></option>`)}</datalist>`,
            "",
            ["and", "or"].includes(type),
          )}
          ${field("t-start", t("trigger.start_date"), text("t-start", tr.start_date, { placeholder: t("ph.now") }), "", ["date", "and", "or", "none"].includes(type))}
          ${field("t-end", t("trigger.end_date"), text("t-end", tr.end_date, { placeholder: t("ph.never") }), "", ["date", "and", "or", "none"].includes(type))}
          ${field("t-jitter", t("trigger.jitter"), text("t-jitter", tr.jitter, { placeholder: noneByDefault() }), "", ["date", "and", "or", "none"].includes(type))}
          ${field(
            "t-cal",
            t("trigger.calendar"),
            select("t-cal", [["", t("trigger.calendar.none")], ...(keptCalendar ? [["=", t("trigger.calendar.kept")]] : []), ...d.cals.map((c) => [c.name, c.name])], keptCalendar ? "=" : tr.calendar?.name || ""),
            t("hint.calendar"),
            calendarless,
          )}
          ${field(
            "t-rule",
            t("trigger.rule"),
            select("t-rule", ["workdays", "exclude", "only", "rest_days"].map((x) => [x, t("rule." + x)]), tr.calendar?.rule || (tr.calendar ? "exclude" : "workdays")),
            "",
            calendarless || ["", "="].includes(s.cal),
          )}
        </div>
        <div class="preview ${p?.error ? "invalid" : ""}" id="preview" aria-live="polite">${p?.error
          ? html`<p class="ferr">${p.error}</p>`
          : p?.data
            ? html`<p class="desc"><strong>${p.data.description}</strong></p><p class="muted">${t("preview.next", { zone: p.data.timezone })}</p>
              <ol class="fires">${p.data.next.length ? p.data.next.map((x) => html`<li><time datetime=${x}>${x.replace("T", " ")}</time></li>`) : html`<li class="muted">${t("preview.none")}</li>`}</ol>`
            : nothing}</div></section>

        <section class="card"><h2>${t("editor.task")}</h2><div class="fields">
          ${field("k-task", t("field.task"), select("k-task", taskOptions, typedTask ? OTHER_TASK : j.task))}
          ${field("k-wtask", t("field.workertask"), text("k-wtask", typedTask, { placeholder: example("send_report"), spellcheck: "false" }), t("hint.workertask"), task !== OTHER_TASK)}
          ${field("k-declare", t("editor.declare"), check("k-declare", false), t("hint.declare"), task !== OTHER_TASK)}
          <div class="kind" data-kind="command" ?hidden=${kind("command")}>
            ${field("c-argv", t("kind.argv"), area("c-argv", (a.argv || []).join("\n"), 3), t("hint.argv"))}
            ${field("c-shell", t("kind.shell"), check("c-shell", a.shell))}
            ${field("c-dir", t("kind.dir"), text("c-dir", a.dir, { placeholder: t("ph.rundir") }))}
            ${field("c-env", t("kind.env"), area("c-env", Object.entries(a.env || {}).map(([k, v]) => k + "=" + v).join("\n"), 2), t("hint.env"))}
          </div>
          <div class="kind" data-kind="http" ?hidden=${kind("http")}>
            ${field("h-method", t("kind.method"), select("h-method", ["GET", "POST", "PUT", "PATCH", "DELETE"].map((x) => [x, x]), a.method || "POST"))}
            ${field("h-url", t("kind.url"), text("h-url", a.url, { type: "url", placeholder: example("https://app.internal/jobs/cleanup") }))}
            ${field("h-headers", t("kind.headers"), area("h-headers", Object.entries(a.headers || {}).map(([k, v]) => k + ": " + v).join("\n"), 2), t("hint.headers"))}
            ${field("h-body", t("kind.body"), area("h-body", a.body != null ? pretty(a.body) : "", 3), t("hint.json"))}
            ${field("h-expect", t("kind.expect"), text("h-expect", (a.expect || []).join(", "), { placeholder: t("ph.any2xx") }))}
            ${field("h-store", t("kind.store_response"), check("h-store", a.store_response))}
          </div>
          <div class="kind" data-kind="python" ?hidden=${kind("python")}>
            ${field("p-func", t("kind.func"), text("p-func", a.func, { placeholder: example("app.jobs:cleanup"), spellcheck: "false" }))}
          </div>
          <div class="kind" data-kind="script" ?hidden=${kind("script")}>
            ${field("s-script", t("kind.script"), select("s-script", d.scripts.map((x) => [x.name, `${x.name} (${x.lang})`]), a.script))}
            ${field("s-version", t("kind.version"), num("s-version", a.version || "", { min: "1" }), t("hint.latest"))}
          </div>
          <div class="kind" data-kind="python script" ?hidden=${kind("python script")}>
            ${field("p-args", t("kind.args"), area("p-args", a.args ? JSON.stringify(a.args) : "", 1), t("hint.jsonlist"))}
            ${field("p-kwargs", t("kind.kwargs"), area("p-kwargs", a.kwargs ? JSON.stringify(a.kwargs) : "", 2), t("hint.jsonobject"))}
          </div>
          <div class="kind" data-kind="command http python script" ?hidden=${kind("command http python script")}>
            ${field("x-secrets", t("kind.secrets"), text("x-secrets", (a.secrets || []).join(", ")), t("hint.comma"))}
            ${field("x-timeout", t("kind.timeout"), text("x-timeout", a.timeout, { placeholder: noneByDefault() }))}
          </div>
          <div class="kind" data-kind="other" ?hidden=${kind("other")}>
            ${field("o-args", t("kind.rawargs"), area("o-args", j.args != null ? pretty(j.args) : "", 4), t("hint.json"))}
          </div>
        </div></section>

        <section class="card"><h2>${t("editor.options")}</h2><div class="fields">
          ${field("o-misfire", t("opt.misfire_grace"), text("o-misfire", o.misfire_grace, { placeholder: byDefault("60s") }))}
          ${field("o-coalesce", t("opt.coalesce"), select("o-coalesce", [["", t("opt.defaultis", { v: t("opt.yes") })], ["true", t("opt.yes")], ["false", t("opt.no")]], o.coalesce == null ? "" : String(o.coalesce)))}
          ${field(
            "o-overlap",
            t("opt.overlap"),
            select("o-overlap", [["", t("opt.defaultis", { v: t("opt.overlap.skip") })], ["skip", t("opt.overlap.skip")], ["queue", t("opt.overlap.queue")], ["allow", t("opt.overlap.allow")]], o.overlap),
          )}
          ${field("o-max", t("opt.max_instances"), num("o-max", o.max_instances, { min: "1", placeholder: byDefault(1) }))}
          ${field("o-timeout", t("opt.timeout"), text("o-timeout", o.timeout, { placeholder: noneByDefault() }))}
          ${field("o-attempts", t("opt.max_attempts"), num("o-attempts", o.max_attempts, { min: "1", placeholder: byDefault(1) }))}
          ${field("o-backoff", t("opt.retry_backoff"), text("o-backoff", o.retry_backoff, { placeholder: byDefault("1s") }))}
          ${field("o-onstart", t("opt.run_on_start"), check("o-onstart", o.run_on_start))}
          ${field("o-broadcast", t("opt.broadcast"), check("o-broadcast", o.broadcast), t("hint.broadcast"))}
          ${field("o-then", t("opt.then"), text("o-then", (o.then || []).map((c) => c.job + (c.on && c.on !== "success" ? ":" + c.on : "")).join(", "), { placeholder: example("load, page-oncall:failure") }), t("hint.then"))}
          ${field("n-webhook", t("opt.webhook"), text("n-webhook", notify.webhook, { type: "url", placeholder: example("https://hooks.slack.com/…") }))}
          ${field("n-format", t("opt.format"), select("n-format", notificationFormats().map((x) => [x, x]), notify.format || notificationFormats()[0]))}
          ${field("n-email", t("opt.email"), text("n-email", (notify.email || []).join(", ")), t("hint.comma"))}
        </div></section>
        <div class="form-actions"><button class="primary" type="submit">${t("action.save")}</button> <a class="button" href=${id ? jobHref(id) : "#/jobs"}>${t("action.cancel")}</a> <span id="form-error" class="ferr" role="alert"></span></div>
      </form>`);
  }
  return { load, redraw: draw };
}

// markField puts the server's complaint next to the input it is about.
function markField(field) {
  if (!field) return;
  const map = { id: "e-id", task: val("k-task") === OTHER_TASK ? "k-wtask" : "k-task", "trigger.expr": "t-expr", "trigger.timezone": "t-tz", "trigger.run_date": "t-run_date", "args.argv": "c-argv", "args.url": "h-url", "args.func": "p-func", "args.script": "s-script" };
  const id = map[field] || (field.includes(".calendar") ? "t-cal" : field.startsWith("trigger") ? "t-expr" : field.startsWith("options") ? "o-misfire" : null);
  const el = id && $("#err-" + id);
  if (el) {
    el.textContent = field;
    $("#" + id)?.focus();
  }
}

function json(id, what) {
  const v = val(id);
  if (!v) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    throw new Error(t("editor.badjson", { what }));
  }
}

// triggerSpec builds the trigger from the form; keptCalendar is the
// edited job's calendar when the form cannot show it.
function triggerSpec(keptCalendar) {
  const type = val("t-type");
  if (type === "and" || type === "or") {
    const spec = json("t-json", t("trigger.json"));
    if (!spec || typeof spec !== "object") throw new Error(t("editor.badjson", { what: t("trigger.json") }));
    return { ...spec, type };
  }
  const spec = { type };
  const tz = val("t-tz");
  if (tz) spec.timezone = tz;
  if (type === "cron") {
    const dialect = val("t-dialect");
    if (dialect !== "crontab") spec.dialect = dialect;
    if (dialect === "apscheduler") {
      spec.fields = {};
      for (const k of APS_FIELDS) if (val("t-f-" + k)) spec.fields[k] = val("t-f-" + k);
    } else spec.expr = val("t-expr");
  } else if (type === "interval") {
    for (const k of ["weeks", "days", "hours", "minutes"]) if (val("t-" + k)) spec[k] = parseInt(val("t-" + k), 10);
    if (val("t-seconds")) spec.seconds = parseFloat(val("t-seconds"));
  } else if (type === "date") {
    spec.run_date = val("t-run_date");
  } else if (type === "calendar") {
    spec[val("t-cal-unit")] = parseInt(val("t-cal-n") || "1", 10);
    const [hh, mm, ss] = (val("t-at") || "0:0:0").split(":").map((x) => parseInt(x, 10) || 0);
    Object.assign(spec, { hour: hh, minute: mm, second: ss });
    if (val("t-missing") !== "last") spec.missing_day = val("t-missing");
  }
  if (type !== "date" && type !== "none") {
    // An interval's start date was pinned when the job was stored: keeping
    // it keeps the job on its grid.
    if (val("t-start")) spec.start_date = val("t-start");
    if (val("t-end")) spec.end_date = val("t-end");
    if (val("t-jitter")) spec.jitter = val("t-jitter");
  }
  if (type !== "none" && val("t-cal") === "=" && keptCalendar) {
    spec.calendar = keptCalendar;
  } else if (type !== "none" && val("t-cal")) {
    // The name and the rule: the server fills in the calendar's dates.
    spec.calendar = { name: val("t-cal") };
    if (val("t-rule") !== "exclude") spec.calendar.rule = val("t-rule");
  }
  return spec;
}

// jobDoc builds the job document from the form. Editing keeps what the
// form does not show (other options, further notifications, a kind's
// limits): a save never drops settings made elsewhere.
function jobDoc(old, keptCalendar) {
  const task = val("k-task") === OTHER_TASK ? val("k-wtask") : val("k-task");
  const doc = { task, trigger: triggerSpec(keptCalendar), options: { ...(old?.options || {}) } };
  if (val("e-id")) doc.id = val("e-id");
  if (val("e-name")) doc.name = val("e-name");
  if (val("e-queue")) doc.queue = val("e-queue");
  const tags = list(val("e-tags"));
  if (tags.length) doc.tags = tags;
  let args = old && old.task === task && old.args && typeof old.args === "object" && !Array.isArray(old.args) ? { ...old.args } : {};
  const setArg = (k, v) => (v === undefined || v === "" || (Array.isArray(v) && !v.length) ? delete args[k] : (args[k] = v));
  const checked = (id) => $("#" + id).checked;
  if (task === "command") {
    args.argv = val("c-argv").split("\n").map((x) => x.trim()).filter(Boolean);
    setArg("shell", checked("c-shell") || undefined);
    setArg("dir", val("c-dir"));
    const env = {};
    for (const line of val("c-env").split("\n").filter(Boolean)) {
      const i = line.indexOf("=");
      if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1);
    }
    setArg("env", Object.keys(env).length ? env : undefined);
  } else if (task === "http") {
    Object.assign(args, { method: val("h-method"), url: val("h-url") });
    const headers = {};
    for (const line of val("h-headers").split("\n").filter(Boolean)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    setArg("headers", Object.keys(headers).length ? headers : undefined);
    setArg("body", json("h-body", t("kind.body")));
    setArg("expect", list(val("h-expect")).map(Number));
    setArg("store_response", checked("h-store") || undefined);
  } else if (task === "python" || task === "script") {
    if (task === "python") args.func = val("p-func");
    else {
      args.script = val("s-script");
      setArg("version", val("s-version") ? parseInt(val("s-version"), 10) : undefined);
    }
    setArg("args", json("p-args", t("kind.args")));
    setArg("kwargs", json("p-kwargs", t("kind.kwargs")));
  } else {
    args = json("o-args", t("kind.rawargs"));
  }
  if (KINDS.includes(task)) {
    setArg("secrets", list(val("x-secrets")));
    setArg("timeout", val("x-timeout"));
  }
  if (args !== undefined) doc.args = args;
  const o = doc.options;
  const setOpt = (k, v) => (v === undefined || v === "" || Number.isNaN(v) ? delete o[k] : (o[k] = v));
  setOpt("misfire_grace", val("o-misfire"));
  setOpt("coalesce", val("o-coalesce") ? val("o-coalesce") === "true" : undefined);
  setOpt("overlap", val("o-overlap"));
  setOpt("max_instances", val("o-max") ? parseInt(val("o-max"), 10) : undefined);
  setOpt("timeout", val("o-timeout"));
  setOpt("max_attempts", val("o-attempts") ? parseInt(val("o-attempts"), 10) : undefined);
  setOpt("retry_backoff", val("o-backoff"));
  setOpt("run_on_start", checked("o-onstart") || undefined);
  setOpt("broadcast", checked("o-broadcast") || undefined);
  const then = list(val("o-then")).map((x) => {
    const [job, on] = x.split(":").map((y) => y.trim());
    return on ? { job, on } : { job };
  });
  setOpt("then", then.length ? then : undefined);
  const n = {};
  if (val("n-webhook")) Object.assign(n, { webhook: val("n-webhook"), format: val("n-format") });
  if (list(val("n-email")).length) n.email = list(val("n-email"));
  const rest = (o.notify || []).slice(1); // the form edits the first notification
  setOpt("notify", Object.keys(n).length || rest.length ? [...(Object.keys(n).length ? [n] : []), ...rest] : undefined);
  return doc;
}
