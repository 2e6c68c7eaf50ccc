// Sundial's web UI: a client of the same API v1 that the CLI uses, with no
// build step. Pages render into #main from the hash route; every string
// goes through t() (i18n.js); live updates come from /api/v1/events.
import { t, lang, setLang, LANGS } from "./i18n.js";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const main = () => $("#main");

// staleCheck returns a test of whether the page shown has changed since
// the call: a page that fetched slowly must not paint over the one the
// reader has gone on to.
function staleCheck() {
  const at = location.hash || "#/";
  return () => (location.hash || "#/") !== at;
}

// h escapes text for HTML.
function h(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

// ApiError carries the problem document of a failed request.
class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || String(status));
    this.status = status;
    this.problem = problem || {};
  }
}

// RawJSON is a request body that is JSON text already, such as a file
// being imported: it goes as it is, not parsed and written again (which
// would round numbers past 2^53 and drop what the server should judge).
class RawJSON {
  constructor(text) {
    this.text = text;
  }
}

// api calls API v1 with the session cookie and the CSRF token. Every
// change is sent as JSON, also one without a body: the server refuses
// any other (a page of another site could send those).
async function api(method, path, body, headers = {}) {
  // Accept-Language: trigger descriptions come in the page's language.
  const init = { method, headers: { Accept: "application/json", "Accept-Language": lang() === "zh" ? "zh-CN" : "en", ...headers }, credentials: "same-origin" };
  if (method !== "GET") {
    init.headers["X-CSRF-Token"] = cookie("sundial_csrf");
    init.headers["Content-Type"] = "application/json";
  }
  if (body !== undefined) init.body = body instanceof RawJSON ? body.text : JSON.stringify(body);
  const res = await fetch("/api/v1" + path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (res.status === 401 && location.hash !== "#/login") {
    location.hash = "#/login";
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return { data, res, text };
}
const get = async (path) => (await api("GET", path)).data;

// ---------- formatting ----------

function fmtTime(s) {
  if (!s) return "–";
  const d = new Date(s);
  return d.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { dateStyle: "medium", timeStyle: "medium" });
}

function fmtDur(ms) {
  if (ms == null || isNaN(ms)) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return Math.floor(ms / 60000) + " m " + Math.round((ms % 60000) / 1000) + " s";
}

function runMs(r) {
  return r.started_at && r.ended_at ? new Date(r.ended_at) - new Date(r.started_at) : null;
}

function fromNow(s) {
  if (!s) return "–";
  const sec = Math.round((new Date(s) - Date.now()) / 1000);
  const abs = Math.abs(sec);
  const [n, unit] = abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "m"] : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return t(sec >= 0 ? "time.in" : "time.ago", { n, unit: t("unit." + unit) });
}

// ago is fromNow for a past instant that another clock wrote: one a
// moment ahead of this browser's reads "0 s ago", not "in 0 s".
function ago(s) {
  return s ? fromNow(new Date(Math.min(new Date(s).getTime(), Date.now())).toISOString()) : fromNow(s);
}

function badge(status) {
  return `<span class="badge st-${h(status)}">${h(t("status." + status))}</span>`;
}

// workerName returns the name of the worker session a run's node names
// ("worker:NAME"), or "" for a scheduler node.
function workerName(node) {
  return typeof node === "string" && node.startsWith("worker:") ? node.slice("worker:".length) : "";
}

// nodeText names a run's node in plain text: a worker as "worker NAME".
function nodeText(node) {
  const w = workerName(node);
  return w ? t("run.worker", { name: w }) : node || "";
}

// nodeHTML names a run's node; a worker's links to the Workers page.
function nodeHTML(node) {
  if (!node) return "–";
  return workerName(node) ? `<a class="worker-node" href="#/workers">${h(nodeText(node))}</a>` : h(node);
}

// waitingBadge marks a job whose runs wait for a worker, with the
// server's explanation as its tooltip.
function waitingBadge(j) {
  return j.waiting ? ` <a class="badge st-waiting" href="#/workers" title="${h(j.waiting)}">${h(t("job.waiting"))}</a>` : "";
}

function pretty(v) {
  if (v == null) return "";
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

function toast(msg, kind = "ok") {
  const el = document.createElement("div");
  el.className = "toast " + kind;
  el.setAttribute("role", "status");
  el.textContent = msg;
  $("#toasts").append(el);
  while ($("#toasts").children.length > 3) $("#toasts").firstChild.remove();
  setTimeout(() => el.remove(), 4000);
}

function showError(err) {
  toast(err.problem?.field ? `${err.message}` : err.message || String(err), "err");
}

// ask shows a modal question with one button per choice ([value, label,
// class]) and resolves to the value chosen, or "" when dismissed (Escape).
function ask(message, details, choices) {
  return new Promise((resolve) => {
    const d = document.createElement("dialog");
    d.className = "ask";
    d.innerHTML = `<form method="dialog"><p>${h(message)}</p>${details.length ? `<ul class="plain">${details.map((x) => `<li>${h(x)}</li>`).join("")}</ul>` : ""}
      <div class="form-actions">${choices.map(([v, label, cls]) => `<button value="${h(v)}" class="${h(cls || "")}">${h(label)}</button>`).join("")}</div></form>`;
    d.addEventListener("close", () => {
      resolve(d.returnValue);
      d.remove();
    });
    document.body.append(d);
    d.showModal();
  });
}

// activeRuns returns a job's runs that have not ended, on any node.
async function activeRuns(jobID) {
  const lists = await Promise.all(["running", "pending", "scheduled", "queued"].map((st) => get(`/runs?limit=100&status=${st}&job_id=${encodeURIComponent(jobID)}`)));
  return lists.flatMap((l) => l.runs);
}

function runLine(r) {
  return `${r.id} · ${t("status." + r.status)}${r.node ? " · " + nodeText(r.node) : ""}`;
}

// askAboutRuns asks what to do with a job's runs still going before it is
// paused or deleted: "cancel" them, "keep" them going, or "" (do nothing).
// With none going it answers "keep" (or asks plain yes/no, for deletes).
async function askAboutRuns(id, verb) {
  const runs = await activeRuns(id);
  if (!runs.length) {
    if (verb === "delete" && !confirm(t("confirm.delete", { id }))) return "";
    return "keep";
  }
  const choices =
    verb === "delete"
      ? [["cancel", t("ask.deletecancel"), "danger"], ["keep", t("ask.deletekeep")], ["", t("action.cancel")]]
      : [["cancel", t("ask.pausecancel"), "danger"], ["keep", t("ask.pausekeep")], ["", t("action.cancel")]];
  return ask(t(verb === "delete" ? "ask.deleterunning" : "ask.pauserunning", { id, n: runs.length }), runs.map(runLine), choices);
}

// ---------- layout ----------

let me = null; // the logged-in token: {name, role}
const can = (role) => me && { viewer: 1, operator: 2, admin: 3 }[me.role] >= { viewer: 1, operator: 2, admin: 3 }[role];

function layout() {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  const nav = [
    ["#/", "nav.dashboard"],
    ["#/jobs", "nav.jobs"],
    ["#/scripts", "nav.scripts"],
    ["#/calendars", "nav.calendars"],
    ["#/nodes", "nav.nodes"],
    ["#/workers", "nav.workers"],
  ];
  if (can("admin")) nav.push(["#/settings", "nav.settings"]);
  $("#nav").innerHTML = me
    ? nav.map(([href, key]) => `<a href="${href}" data-nav="${href}">${h(t(key))}</a>`).join("")
    : "";
  $("#who").innerHTML = me
    ? `<span class="muted">${h(me.name)} · ${h(t("role." + me.role))}</span>
       <button id="logout" class="link">${h(t("action.logout"))}</button>`
    : "";
  $("#logout")?.addEventListener("click", logout);
  $("#lang").innerHTML = LANGS.map(([code, name]) => `<option value="${code}" ${code === lang() ? "selected" : ""}>${name}</option>`).join("");
  $("#lang").setAttribute("aria-label", t("pref.language"));
  $("#theme").textContent = t(document.documentElement.dataset.theme === "dark" ? "pref.light" : "pref.dark");
  $("#skip").textContent = t("a11y.skip");
  for (const a of $$("[data-nav]")) {
    const cur = location.hash || "#/";
    // Export and import is a page of the jobs.
    a.classList.toggle("active", a.dataset.nav === "#/" ? cur === "#/" : cur.startsWith(a.dataset.nav) || (a.dataset.nav === "#/jobs" && cur === "#/transfer") || (a.dataset.nav === "#/calendars" && cur === "#/new-calendar"));
  }
}

// ---------- router ----------

const routes = [
  [/^#\/login$/, loginPage],
  [/^#?\/?$/, dashboardPage],
  [/^#\/jobs$/, jobsPage],
  [/^#\/transfer$/, transferPage],
  [/^#\/jobs\/new$/, (m) => editorPage(null)],
  [/^#\/jobs\/([^/]+)\/edit$/, (m) => editorPage(decodeURIComponent(m[1]))],
  [/^#\/jobs\/([^/]+)\/backfill$/, (m) => backfillPage(decodeURIComponent(m[1]))],
  [/^#\/jobs\/([^/]+)$/, (m) => jobPage(decodeURIComponent(m[1]))],
  [/^#\/runs\/([^/]+)$/, (m) => runPage(decodeURIComponent(m[1]))],
  [/^#\/scripts$/, scriptsPage],
  [/^#\/scripts\/([^/]+)$/, (m) => scriptPage(decodeURIComponent(m[1]))],
  [/^#\/calendars$/, calendarsPage],
  [/^#\/new-calendar$/, () => calendarPage("")],
  [/^#\/calendars\/([^/]+)$/, (m) => calendarPage(decodeURIComponent(m[1]))],
  [/^#\/nodes$/, nodesPage],
  [/^#\/workers$/, workersPage],
  [/^#\/settings$/, settingsPage],
];

let current = null; // {refresh, cleanup} of the page shown
let renderSeq = 0;

async function render() {
  const hash = location.hash || "#/";
  if (current?.cleanup) current.cleanup();
  current = null;
  if (!me && hash !== "#/login") {
    try {
      me = (await api("GET", "/whoami")).data;
    } catch {
      location.hash = "#/login";
      return;
    }
  }
  layout();
  refreshBanner();
  main().onclick = null; // a page's own click handler goes with the page
  const seq = ++renderSeq;
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (m) {
      main().setAttribute("aria-busy", "true");
      try {
        const p = await page(m);
        if (seq === renderSeq) current = p || null;
      } catch (err) {
        if (err.status !== 401) main().innerHTML = `<div class="error-box">${h(err.message)}</div>`;
      }
      main().removeAttribute("aria-busy");
      const h1 = $("h1", main());
      if (h1) document.title = h1.textContent + " · Sundial";
      return;
    }
  }
  main().innerHTML = `<h1>${h(t("page.notfound"))}</h1>`;
}

// Live updates: the server says something changed; the page refetches
// (after a short pause, so that a burst of events is one refresh). Pages
// also refresh every 15 seconds for changes made on other nodes.
let events = null;
let pending = null;
let ticking = null;
function startLiveUpdates() {
  if (events || !me) return;
  events = new EventSource("/api/v1/events");
  events.addEventListener("change", (e) => {
    if (JSON.parse(e.data).kind?.startsWith("scheduler_")) refreshBanner();
    clearTimeout(pending);
    pending = setTimeout(() => current?.refresh?.(), 400);
  });
  ticking ??= setInterval(() => {
    if (!me) return;
    refreshBanner();
    current?.refresh?.();
  }, 15000);
}

// ---------- the cluster-wide pause ----------

// The banner on every page while the scheduler is paused cluster-wide,
// with a Resume button for operators.
let scheduler = null; // {paused, since}
async function refreshBanner() {
  if (!me) {
    $("#banner").hidden = true;
    return;
  }
  try {
    scheduler = await get("/scheduler");
  } catch {
    return;
  }
  drawBanner();
}

function drawBanner() {
  const b = $("#banner");
  b.hidden = !scheduler?.paused;
  b.innerHTML = scheduler?.paused
    ? `<strong>${h(t("banner.paused"))}</strong> <span>${h(t("banner.since", { time: fmtTime(scheduler.since) }))}</span>
       ${can("operator") ? `<button class="primary" data-act="scheduler-resume">${h(t("action.resume"))}</button>` : ""}`
    : "";
}

async function setSchedulerPaused(pause) {
  if (pause && !confirm(t("confirm.schedpause"))) return;
  const { data } = await api("POST", pause ? "/scheduler/pause" : "/scheduler/resume");
  scheduler = data;
  drawBanner();
  toast(t(pause ? "toast.schedpaused" : "toast.schedresumed"));
  current?.refresh?.();
}

// ---------- login ----------

async function loginPage() {
  const stale = staleCheck();
  me = null;
  layout();
  const failed = new URLSearchParams(location.search).has("error");
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <section class="login card">
      <h1>${h(t("login.title"))}</h1>
      <p class="muted">${h(t("login.help"))}</p>
      ${failed ? `<div class="error-box" role="alert">${h(t("login.failed"))}</div>` : ""}
      <div id="login-error" class="error-box" role="alert" hidden></div>
      <form id="login" method="post" action="/api/v1/session">
        <label for="token">${h(t("login.token"))}</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus placeholder="sdl_…">
        <button class="primary" type="submit">${h(t("login.submit"))}</button>
      </form>
      <p id="login-sso" hidden><a class="button" href="/api/v1/oidc/login">${h(t("login.sso"))}</a></p>
    </section>`;
  // Single sign-on, when the server has an OpenID Connect provider: a
  // plain navigation, so that the provider's pages open in this tab.
  api("GET", "/session/methods")
    .then(({ data }) => {
      if (data?.oidc) $("#login-sso").hidden = false;
    })
    .catch(() => {});
  // The API opens a session and sets its cookies; the token itself is
  // never kept by the browser.
  $("#login").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("POST", "/session", { token: $("#token").value });
      me = null;
      history.replaceState(null, "", "/#/");
      await render();
      startLiveUpdates();
    } catch (err) {
      const box = $("#login-error");
      box.textContent = err.status === 401 ? t("login.failed") : err.message;
      box.hidden = false;
    }
  });
}

// logout ends the session on the server (its cookie stops working there,
// not only here) and goes back to the login page.
async function logout() {
  try {
    await api("DELETE", "/session");
  } catch (err) {
    showError(err);
    return;
  }
  events?.close();
  events = null;
  me = null;
  location.hash = "#/login";
}

// ---------- charts ----------

// barChart draws stacked bars: buckets is [{label, parts: {key: n}}].
function barChart(buckets, keys, colors, title) {
  const W = 720, H = 160, pad = 24;
  const max = Math.max(1, ...buckets.map((b) => keys.reduce((s, k) => s + (b.parts[k] || 0), 0)));
  const bw = (W - pad) / buckets.length;
  let bars = "";
  buckets.forEach((b, i) => {
    let y = H - pad;
    for (const k of keys) {
      const v = b.parts[k] || 0;
      if (!v) continue;
      const bh = ((H - 2 * pad) * v) / max;
      y -= bh;
      bars += `<rect x="${pad + i * bw + 1}" y="${y}" width="${Math.max(bw - 2, 1)}" height="${bh}" class="${colors[k]}"><title>${h(b.label)}: ${v} ${h(t("status." + k))}</title></rect>`;
    }
    if (i % 4 === 0) bars += `<text x="${pad + i * bw}" y="${H - 6}" class="axis">${h(b.label)}</text>`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${h(title)}" class="chart"><text x="0" y="14" class="axis">${max}</text><line x1="${pad}" y1="${H - pad}" x2="${W}" y2="${H - pad}" class="grid"/>${bars}</svg>`;
}

function sparkline(values, title) {
  const W = 320, H = 60;
  if (values.length < 2) return `<p class="muted">${h(t("job.notenough"))}</p>`;
  const max = Math.max(...values, 1);
  const pts = values.map((v, i) => `${(i * W) / (values.length - 1)},${H - 4 - ((H - 8) * v) / max}`).join(" ");
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${h(title)}" class="spark"><polyline points="${pts}"/></svg>`;
}

// ---------- dashboard ----------

async function dashboardPage() {
  const stale = staleCheck();
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  const [status, jobs, runs, failures] = await Promise.all([
    get("/status"),
    get("/jobs?limit=1000"),
    get("/runs?limit=1000&since=" + encodeURIComponent(since)),
    get("/runs?status=failed&limit=5"),
  ]);
  const failed24 = runs.runs.filter((r) => ["failed", "timed_out", "lost"].includes(r.status)).length;
  const next = jobs.jobs.filter((j) => j.next_run_at).sort((a, b) => new Date(a.next_run_at) - new Date(b.next_run_at)).slice(0, 8);
  const hours = [];
  for (let i = 23; i >= 0; i--) {
    const start = new Date(Date.now() - i * 3600 * 1000);
    start.setMinutes(0, 0, 0);
    hours.push({ start, label: String(start.getHours()).padStart(2, "0") + ":00", parts: {}, dur: [] });
  }
  for (const r of runs.runs) {
    const at = new Date(r.scheduled_at);
    const b = hours.find((x) => at >= x.start && at < new Date(x.start.getTime() + 3600 * 1000));
    if (!b) continue;
    const k = ["succeeded", "failed", "timed_out", "lost"].includes(r.status) ? r.status : "other";
    b.parts[k] = (b.parts[k] || 0) + 1;
    const ms = runMs(r);
    if (ms != null) b.dur.push(ms);
  }
  const avg = hours.map((b) => ({ label: b.label, parts: { duration: b.dur.length ? b.dur.reduce((s, v) => s + v, 0) / b.dur.length : 0 } }));
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <h1>${h(t("nav.dashboard"))}</h1>
    <div class="cards">
      <a class="card stat" href="#/jobs"><span class="n">${status.jobs.total}</span><span>${h(t("dash.jobs"))}</span></a>
      <a class="card stat" href="#/jobs"><span class="n">${status.jobs.paused}</span><span>${h(t("dash.paused"))}</span></a>
      <div class="card stat"><span class="n">${status.runs.running || 0}</span><span>${h(t("dash.running"))}</span></div>
      <div class="card stat ${failed24 ? "bad" : ""}"><span class="n">${failed24}</span><span>${h(t("dash.failed24"))}</span></div>
    </div>
    <div class="grid2">
      <section class="card">
        <h2>${h(t("dash.next"))}</h2>
        ${next.length ? `<ol class="timeline">${next.map((j) => `<li><a href="#/jobs/${encodeURIComponent(j.id)}">${h(j.name || j.id)}</a> <span class="muted">${h(fromNow(j.next_run_at))} · ${h(fmtTime(j.next_run_at))}</span></li>`).join("")}</ol>` : `<p class="muted">${h(t("dash.nonext"))}</p>`}
      </section>
      <section class="card">
        <h2>${h(t("dash.failures"))}</h2>
        ${failures.runs.length ? `<ul class="plain">${failures.runs.map((r) => `<li><a href="#/runs/${encodeURIComponent(r.id)}">${h(r.job_id)}</a> <span class="muted">${h(fmtTime(r.scheduled_at))}</span><div class="err1">${h((r.error || "").split("\n")[0])}</div></li>`).join("")}</ul>` : `<p class="muted">${h(t("dash.nofailures"))}</p>`}
      </section>
    </div>
    <section class="card">
      <h2>${h(t("dash.perhour"))}</h2>
      ${barChart(hours, ["succeeded", "failed", "timed_out", "lost", "other"], { succeeded: "c-ok", failed: "c-bad", timed_out: "c-warn", lost: "c-warn", other: "c-muted" }, t("dash.perhour"))}
      <h2>${h(t("dash.durations"))}</h2>
      ${barChart(avg, ["duration"], { duration: "c-info" }, t("dash.durations"))}
    </section>`;
  return { refresh: dashboardPage };
}

// ---------- jobs ----------

const filters = { q: "", state: "", tag: "", queue: "", task: "" };

async function jobsPage() {
  const stale = staleCheck();
  const [jobs, runs, tasks] = await Promise.all([get("/jobs?limit=1000"), get("/runs?limit=500"), get("/tasks")]);
  const last = {};
  for (const r of runs.runs) if (!last[r.job_id] && !["queued", "scheduled"].includes(r.status)) last[r.job_id] = r;
  const tags = [...new Set(jobs.jobs.flatMap((j) => j.tags || []))].sort();
  const queues = [...new Set(jobs.jobs.map((j) => j.queue || ""))].sort();
  // The server's own tasks, and the worker tasks jobs name.
  const kinds = [...new Set([...tasks.tasks, ...jobs.jobs.map((j) => j.task)])].sort();
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <div class="head"><h1>${h(t("nav.jobs"))}</h1><div class="actions"><a class="button" id="transfer-link" href="#/transfer">${h(t(can("admin") ? "jobs.transfer" : "jobs.exportonly"))}</a>${can("admin") ? ` <a class="button primary" href="#/jobs/new">${h(t("jobs.new"))}</a>` : ""}</div></div>
    <div class="toolbar" role="search">
      <input id="f-q" type="search" placeholder="${h(t("jobs.search"))}" aria-label="${h(t("jobs.search"))}" value="${h(filters.q)}">
      <select id="f-state" aria-label="${h(t("jobs.state"))}"><option value="">${h(t("jobs.allstates"))}</option><option value="active">${h(t("state.active"))}</option><option value="paused">${h(t("state.paused"))}</option></select>
      <select id="f-tag" aria-label="${h(t("jobs.tag"))}"><option value="">${h(t("jobs.alltags"))}</option>${tags.map((x) => `<option>${h(x)}</option>`).join("")}</select>
      <select id="f-queue" aria-label="${h(t("jobs.queue"))}"><option value="">${h(t("jobs.allqueues"))}</option>${queues.map((x) => `<option value="${h(x)}">${h(x || t("jobs.defaultqueue"))}</option>`).join("")}</select>
      <select id="f-task" aria-label="${h(t("jobs.kind"))}"><option value="">${h(t("jobs.allkinds"))}</option>${kinds.map((x) => `<option value="${h(x)}">${h(x)}</option>`).join("")}</select>
    </div>
    <div id="bulk" class="toolbar bulk" hidden></div>
    <div class="table-wrap"><table class="list" id="jobs">
      <thead><tr><th>${h(t("col.job"))}</th><th>${h(t("col.task"))}</th><th>${h(t("col.schedule"))}</th><th>${h(t("col.next"))}</th><th>${h(t("col.last"))}</th><th>${h(t("col.actions"))}</th></tr></thead>
      <tbody></tbody></table></div>`;
  for (const k of ["state", "tag", "queue", "task"]) $("#f-" + k).value = filters[k];
  const draw = () => {
    drawBulk(jobs.jobs);
    const q = filters.q.toLowerCase();
    const rows = jobs.jobs.filter(
      (j) =>
        (!q || j.id.toLowerCase().includes(q) || (j.name || "").toLowerCase().includes(q)) &&
        (!filters.state || (filters.state === "paused") === j.paused) &&
        (!filters.tag || (j.tags || []).includes(filters.tag)) &&
        (filters.queue === "" || (j.queue || "") === filters.queue) &&
        (!filters.task || j.task === filters.task),
    );
    $("#jobs tbody").innerHTML = rows.length
      ? rows
          .map((j) => {
            const r = last[j.id];
            return `<tr>
          <td><a href="#/jobs/${encodeURIComponent(j.id)}">${h(j.name || j.id)}</a>${j.name ? `<div class="muted small">${h(j.id)}</div>` : ""}${(j.tags || []).map((x) => ` <span class="tag">${h(x)}</span>`).join("")}</td>
          <td>${h(j.task)}${waitingBadge(j)}</td>
          <td>${h(j.description || "")}</td>
          <td>${j.paused ? badge("paused") : h(fromNow(j.next_run_at))}</td>
          <td>${r ? `<a href="#/runs/${encodeURIComponent(r.id)}">${badge(r.status)}</a> <span class="muted">${h(fmtDur(runMs(r)))}</span>` : "–"}</td>
          <td class="actions">${jobActions(j)}</td></tr>`;
          })
          .join("")
      : `<tr><td colspan="6" class="muted">${h(t("jobs.none"))}</td></tr>`;
  };
  draw();
  $("#f-q").addEventListener("input", (e) => ((filters.q = e.target.value), draw()));
  for (const k of ["state", "tag", "queue", "task"]) $("#f-" + k).addEventListener("change", (e) => ((filters[k] = e.target.value), draw()));
  return { refresh: () => !document.activeElement?.matches("#f-q") && jobsPage() };
}

// drawBulk offers pause, resume and run-now of every job with the tag and
// in the queue chosen in the filters (what the server selects: not the
// search, state or task filters).
function drawBulk(jobs) {
  const box = $("#bulk");
  const sel = bulkSelector();
  if (!can("operator") || !sel) {
    box.hidden = true;
    return;
  }
  const n = jobs.filter((j) => (!filters.tag || (j.tags || []).includes(filters.tag)) && (filters.queue === "" || (j.queue || "") === filters.queue)).length;
  box.hidden = false;
  box.innerHTML = `<span>${h(t("bulk.selected", { n, sel: sel.label }))}</span>
    <button data-act="bulk" data-bulk="pause" data-n="${n}">${h(t("bulk.pause"))}</button>
    <button data-act="bulk" data-bulk="resume" data-n="${n}">${h(t("bulk.resume"))}</button>
    <button data-act="bulk" data-bulk="run" data-n="${n}">${h(t("bulk.run"))}</button>`;
}

// bulkSelector is the jobs page's tag and queue filter as the bulk routes'
// query, or null when neither is chosen.
function bulkSelector() {
  if (!filters.tag && filters.queue === "") return null;
  const q = new URLSearchParams();
  const label = [];
  if (filters.tag) {
    q.set("tag", filters.tag);
    label.push(t("bulk.tag", { tag: filters.tag }));
  }
  if (filters.queue !== "") {
    q.set("queue", filters.queue);
    label.push(t("bulk.queue", { queue: filters.queue }));
  }
  return { query: q.toString(), label: label.join(", ") };
}

async function bulkAction(action, n) {
  const sel = bulkSelector();
  if (!sel) return;
  const question = { pause: () => t("confirm.bulkpause", { n, sel: sel.label }), resume: () => t("confirm.bulkresume", { n, sel: sel.label }), run: () => t("confirm.bulkrun", { n, sel: sel.label }) }[action];
  if (!question || !confirm(question())) return;
  const { data } = await api("POST", `/jobs/${action}?${sel.query}`);
  const failed = data.results.filter((r) => r.outcome === "failed");
  toast(t("toast.bulk", { changed: data.changed, unchanged: data.matched - data.changed - data.failed, failed: data.failed }), failed.length ? "err" : "ok");
  for (const r of failed.slice(0, 2)) toast(`${r.id}: ${r.error}`, "err");
}

function jobActions(j) {
  let out = "";
  if (can("operator")) {
    out += `<button data-act="run" data-id="${h(j.id)}">${h(t("action.run"))}</button>`;
    out += j.paused
      ? `<button data-act="resume" data-id="${h(j.id)}">${h(t("action.resume"))}</button>`
      : `<button data-act="pause" data-id="${h(j.id)}">${h(t("action.pause"))}</button>`;
  }
  if (can("admin")) {
    out += `<a class="button" href="#/jobs/${encodeURIComponent(j.id)}/edit">${h(t("action.edit"))}</a>`;
    out += `<button class="danger" data-act="delete" data-id="${h(j.id)}">${h(t("action.delete"))}</button>`;
  }
  return out;
}

// One handler for the job actions on every page.
document.addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-act]");
  if (!b) return;
  const id = b.dataset.id;
  try {
    switch (b.dataset.act) {
      case "run": {
        const { data } = await api("POST", `/jobs/${encodeURIComponent(id)}/run`);
        toast(t("toast.started", { id }));
        location.hash = "#/runs/" + encodeURIComponent(data.id);
        return;
      }
      case "pause": {
        const choice = await askAboutRuns(id, "pause");
        if (!choice) return;
        await api("POST", `/jobs/${encodeURIComponent(id)}/pause${choice === "cancel" ? "?cancel_running=true" : ""}`);
        toast(t("toast.paused", { id }));
        break;
      }
      case "resume":
        await api("POST", `/jobs/${encodeURIComponent(id)}/resume`);
        toast(t("toast.resumed", { id }));
        break;
      case "delete": {
        const choice = await askAboutRuns(id, "delete");
        if (!choice) return;
        await api("DELETE", `/jobs/${encodeURIComponent(id)}${choice === "cancel" ? "?cancel_running=true" : ""}`);
        toast(t("toast.deleted", { id }));
        if (location.hash.startsWith("#/jobs/")) location.hash = "#/jobs";
        break;
      }
      case "cancel-run": {
        if (!confirm(t("confirm.cancelrun", { job: b.dataset.job }))) return;
        const { res } = await api("POST", `/runs/${encodeURIComponent(id)}/cancel`);
        toast(t(res.status === 202 ? "toast.cancelrequested" : "toast.canceled"));
        if (location.hash.startsWith("#/runs/")) {
          current?.cleanup?.();
          current = await runPage(id);
        }
        return;
      }
      case "retry-run": {
        const { data } = await api("POST", `/runs/${encodeURIComponent(id)}/retry`);
        toast(t("toast.retried", { n: data.attempt }));
        location.hash = "#/runs/" + encodeURIComponent(data.id);
        return;
      }
      case "bulk":
        await bulkAction(b.dataset.bulk, b.dataset.n);
        break;
      case "scheduler-pause":
      case "scheduler-resume":
        await setSchedulerPaused(b.dataset.act === "scheduler-pause");
        return;
      default:
        return;
    }
    current?.refresh?.();
  } catch (err) {
    showError(err);
  }
});

// ---------- export and import ----------

// The outcomes an import reports for an item, as the server names them.
const outcomes = ["created", "updated", "unchanged", "skipped", "missing"];

// exportName is the file name of an export made today: the date, and the
// tag when there is one (reduced to characters every file system takes).
function exportName(tag) {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const slug = tag.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return `sundial-jobs-${slug ? slug + "-" : ""}${day}.json`;
}

// indentJSON lays JSON text out two spaces a level, token by token, so
// that numbers keep every digit (JSON.parse rounds those past 2^53).
function indentJSON(text) {
  let out = "", depth = 0, inStr = false, esc = false;
  const nl = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (esc) esc = false;
      else if (c === "\\") esc = true;
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (c === "{" || c === "[") {
      let j = i + 1;
      while (/\s/.test(text[j] || "")) j++;
      if (text[j] === (c === "{" ? "}" : "]")) {
        out += c + text[j]; // an empty object or list stays on its line
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += nl() + c;
    } else if (c === ",") out += "," + nl();
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return out + "\n";
}

// download hands text to the browser as a file to save.
function download(name, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

// importReport renders what an import did, or would do, item by item.
function importReport(rep) {
  const items = rep.items || [];
  const counts = {};
  for (const it of items) counts[it.action] = (counts[it.action] || 0) + 1;
  const outcome = (a) => `<span class="badge out-${h(a)}">${h(outcomes.includes(a) ? t("outcome." + a) : a)}</span>`;
  const kind = (k) => h(["job", "calendar", "script", "secret"].includes(k) ? t("item." + k) : k);
  return `<h3 id="im-title">${h(t(rep.dry_run ? "xfer.dryrun" : "xfer.done"))}</h3>
    ${items.length
      ? `<p id="im-summary">${Object.keys(counts).sort((a, b) => outcomes.indexOf(a) - outcomes.indexOf(b)).map((a) => `${outcome(a)} ${counts[a]}`).join(" · ")}</p>
      <div class="table-wrap"><table class="list" id="im-items"><thead><tr><th>${h(t("col.item"))}</th><th>${h(t("field.id"))}</th><th>${h(t("col.outcome"))}</th><th>${h(t("col.detail"))}</th></tr></thead>
      <tbody>${items.map((it) => `<tr data-kind="${h(it.kind)}" data-id="${h(it.id)}" data-action="${h(it.action)}"><td>${kind(it.kind)}</td>
        <td>${it.kind === "job" && !rep.dry_run ? `<a href="#/jobs/${encodeURIComponent(it.id)}"><code>${h(it.id)}</code></a>` : `<code>${h(it.id)}</code>`}</td>
        <td>${outcome(it.action)}</td><td>${h(it.detail || "")}</td></tr>`).join("")}</tbody></table></div>`
      : `<p class="muted">${h(t("xfer.nothing"))}</p>`}`;
}

// problemBox renders a failed request's problem document: what went
// wrong, and the field of the document at fault when the server names one.
function problemBox(err, note = "") {
  const p = err.problem || {};
  const field = p.field && p.field !== "(body)" ? ` <span class="muted">${h(t("xfer.field", { field: p.field }))}</span>` : "";
  return `<strong>${h(p.title || t("xfer.failed"))}</strong>${field}<div>${h(p.detail || err.message)}</div>${note ? `<div>${h(note)}</div>` : ""}`;
}

// transferPage exports jobs to a file and imports one: a dry run first,
// whose report the reader checks, then Apply for the same file and the
// same choice of Replace. It has no refresh: live updates would wipe it.
async function transferPage() {
  const stale = staleCheck();
  const { jobs } = await get("/jobs?limit=1000");
  const tags = [...new Set(jobs.flatMap((j) => j.tags || []))].sort();
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <div class="head"><h1>${h(t(can("admin") ? "xfer.title" : "xfer.exporttitle"))}</h1><a class="button" href="#/jobs">${h(t("xfer.back"))}</a></div>
    <section class="card" id="export"><h2>${h(t("xfer.export"))}</h2>
      <p class="muted">${h(t("xfer.exportexplain"))}</p>
      <form id="export-form" class="toolbar">
        <select id="x-tag" aria-label="${h(t("jobs.tag"))}"><option value="">${h(t("xfer.alljobs"))}</option>${tags.map((x) => `<option value="${h(x)}">${h(t("bulk.tag", { tag: x }))}</option>`).join("")}</select>
        <button class="primary" type="submit">${h(t("xfer.download"))}</button>
      </form>
      <div id="export-result" role="status"></div>
    </section>
    <section class="card" id="import"><h2>${h(t("xfer.import"))}</h2>
      ${can("admin")
        ? `<p class="muted">${h(t("xfer.importexplain"))}</p>
      <form id="import-form" class="fields">
        ${field("im-file", t("xfer.file"), `<input id="im-file" type="file" accept=".json,application/json">`)}
        ${field("im-replace", t("xfer.replace"), check("im-replace", false), t("xfer.replacehint"))}
      </form>
      <div class="form-actions"><button class="primary" id="im-check" type="button">${h(t("xfer.check"))}</button>
        <button id="im-apply" type="button" disabled>${h(t("xfer.apply"))}</button> <span id="im-state" class="muted" role="status">${h(t("xfer.checkfirst"))}</span></div>
      <div id="im-error" class="error-box" role="alert" hidden></div>
      <div id="im-report" aria-live="polite"></div>`
        : `<p class="muted" id="im-adminonly">${h(t("xfer.adminonly"))}</p>`}
    </section>`;

  $("#export-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const box = $("#export-result");
    const tag = $("#x-tag").value;
    try {
      const { data, text } = await api("GET", "/export" + (tag ? "?tag=" + encodeURIComponent(tag) : ""));
      const name = exportName(tag);
      download(name, indentJSON(text));
      const secrets = data.secrets || [];
      box.innerHTML = `<p>${h(t("xfer.exported", { jobs: (data.jobs || []).length, scripts: (data.scripts || []).length, file: name }))}</p>
        ${secrets.length ? `<p class="notice">${h(t("xfer.secrets", { names: secrets.join(", ") }))}</p>` : ""}`;
    } catch (err) {
      box.innerHTML = `<div class="error-box" role="alert">${problemBox(err)}</div>`;
    }
  });
  if (!can("admin")) return { refresh: null };

  // checked is the file text and Replace choice of the last dry run that
  // the server accepted: Apply sends exactly that, nothing chosen since.
  let checked = null;
  const state = (key) => ($("#im-state").textContent = key ? t(key) : "");
  const fail = (err, note = "") => {
    const box = $("#im-error");
    box.innerHTML = typeof err === "string" ? h(err) : problemBox(err, note);
    box.hidden = false;
  };
  const reset = () => {
    checked = null;
    $("#im-apply").disabled = true;
    $("#im-error").hidden = true;
    $("#im-report").innerHTML = "";
    state("xfer.checkfirst");
  };
  $("#im-file").addEventListener("change", reset);
  $("#im-replace").addEventListener("change", reset);
  const send = async (text, replace, dryRun) => {
    const q = new URLSearchParams({ dry_run: String(dryRun), replace: String(replace) });
    return (await api("POST", "/import?" + q, new RawJSON(text))).data;
  };
  $("#im-check").addEventListener("click", async () => {
    reset();
    const file = $("#im-file").files[0];
    if (!file) return fail(t("xfer.nofile"));
    const text = await file.text();
    // The server reads JSON; a YAML file is for the CLI, which converts it.
    if (!/^\s*[[{]/.test(text)) return fail(t("xfer.notjson"));
    const replace = $("#im-replace").checked;
    state("xfer.checking");
    try {
      const rep = await send(text, replace, true);
      checked = { text, replace };
      $("#im-report").innerHTML = importReport(rep);
      $("#im-apply").disabled = false;
      state("");
    } catch (err) {
      state("xfer.checkfirst");
      fail(err);
    }
  });
  $("#im-apply").addEventListener("click", async () => {
    if (!checked) return;
    const { text, replace } = checked;
    $("#im-apply").disabled = true;
    state("xfer.applying");
    try {
      const rep = await send(text, replace, false);
      checked = null;
      $("#im-report").innerHTML = importReport(rep);
      state("");
      toast(t("toast.imported"));
    } catch (err) {
      state("");
      checked = null;
      // The server stops at the first failure: what came before it stays,
      // and the problem lists it.
      fail(err, t("xfer.partial"));
      if (err.problem?.done?.length) $("#im-report").innerHTML = importReport({ dry_run: false, items: err.problem.done });
    }
  });
  return { refresh: null };
}

// ---------- job detail ----------

async function jobPage(id) {
  const stale = staleCheck();
  const [job, runs, status, all] = await Promise.all([get("/jobs/" + encodeURIComponent(id)), get("/runs?limit=50&job_id=" + encodeURIComponent(id)), get("/status"), get("/jobs?limit=1000")]);
  // The jobs whose chains start this one (the first 1000 jobs'; the server refuses removing it while any do).
  const startedBy = all.jobs.filter((j) => (j.options?.then || []).some((c) => c.job === id));
  // Limits a node cannot enforce: the server accepted the job anyway (isolation.accept_unenforced_limits).
  const limits = ["memory_bytes", "pids"].filter((k) => job.args?.limits?.[k]);
  const lax = status.nodes.filter((n) => (n.facts?.cgroup_limits || "enforced") !== "enforced").map((n) => n.id);
  const ended = runs.runs.filter((r) => !["queued", "scheduled", "pending", "running"].includes(r.status));
  const ok = ended.filter((r) => r.status === "succeeded").length;
  const durations = ended.map(runMs).filter((x) => x != null).reverse();
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <div class="head"><h1>${h(job.name || job.id)}</h1><div class="actions">${jobActions(job)}${can("operator") ? `<a class="button" id="backfill-link" href="#/jobs/${encodeURIComponent(job.id)}/backfill">${h(t("action.backfill"))}</a>` : ""}</div></div>
    ${job.waiting ? `<div class="notice" id="job-waiting" title="${h(job.waiting)}">${waitingBadge(job)} ${h(t("job.waitingline", { task: job.task }))}</div>` : ""}
    ${limits.length && lax.length ? `<div class="error-box" role="alert">${h(t("job.unenforced", { limits: limits.join(", "), nodes: lax.join(", ") }))}</div>` : ""}
    <div class="grid2">
      <section class="card"><h2>${h(t("job.settings"))}</h2>
        <dl class="kv">
          <dt>${h(t("field.id"))}</dt><dd><code>${h(job.id)}</code></dd>
          <dt>${h(t("field.task"))}</dt><dd>${h(job.task)}</dd>
          <dt>${h(t("field.schedule"))}</dt><dd>${h(job.description || "")}</dd>
          <dt>${h(t("field.state"))}</dt><dd>${job.paused ? badge("paused") + (job.pause_reason ? ` <span class="muted">${h(job.pause_reason)}</span>` : "") : badge("active")}</dd>
          <dt>${h(t("field.next"))}</dt><dd>${h(fmtTime(job.next_run_at))} <span class="muted">${h(fromNow(job.next_run_at))}</span></dd>
          <dt>${h(t("field.queue"))}</dt><dd>${h(job.queue || t("jobs.defaultqueue"))}</dd>
          <dt>${h(t("field.source"))}</dt><dd>${h(t("source." + (job.source || "library")))}</dd>
          <dt>${h(t("field.version"))}</dt><dd>${job.version}</dd>
          ${(job.options?.then || []).length ? `<dt>${h(t("field.then"))}</dt><dd id="chain-then">${job.options.then.map((c) => `<a href="#/jobs/${encodeURIComponent(c.job)}">${h(c.job)}</a> <span class="muted">${h(t("chain.on." + (c.on || "success")))}</span>`).join(", ")}</dd>` : ""}
          ${startedBy.length ? `<dt>${h(t("field.startedby"))}</dt><dd id="chain-from">${startedBy.map((j) => `<a href="#/jobs/${encodeURIComponent(j.id)}">${h(j.name || j.id)}</a>`).join(", ")}</dd>` : ""}
        </dl>
        <details><summary>${h(t("job.definition"))}</summary><pre>${h(pretty({ trigger: job.trigger, args: job.args, options: job.options, tags: job.tags }))}</pre></details>
      </section>
      <section class="card"><h2>${h(t("job.health"))}</h2>
        <p class="big">${ended.length ? Math.round((100 * ok) / ended.length) + "%" : "–"}</p>
        <p class="muted">${h(t("job.successrate", { ok, n: ended.length }))}</p>
        <h3>${h(t("job.trend"))}</h3>
        ${sparkline(durations, t("job.trend"))}
      </section>
    </div>
    <section class="card"><h2>${h(t("job.runs"))}</h2>
      <div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.scheduled"))}</th><th>${h(t("col.status"))}</th><th>${h(t("col.took"))}</th><th>${h(t("col.attempt"))}</th><th>${h(t("col.error"))}</th></tr></thead>
      <tbody id="runs">${runRows(runs.runs)}</tbody></table></div>
      ${runs.next_cursor ? `<button id="more" data-cursor="${h(runs.next_cursor)}">${h(t("action.more"))}</button>` : ""}
    </section>`;
  $("#more")?.addEventListener("click", async function more(e) {
    const page = await get(`/runs?limit=50&job_id=${encodeURIComponent(id)}&cursor=${encodeURIComponent(e.target.dataset.cursor)}`);
    $("#runs").insertAdjacentHTML("beforeend", runRows(page.runs));
    if (page.next_cursor) e.target.dataset.cursor = page.next_cursor;
    else e.target.remove();
  });
  return { refresh: () => jobPage(id) };
}

function runRows(runs) {
  const row = (r, inGroup) => `<tr${inGroup ? ' class="shard"' : ""}><td><a href="#/runs/${encodeURIComponent(r.id)}">${h(inGroup ? t("run.shard", { index: r.shard.index, total: r.shard.total }) : fmtTime(r.scheduled_at))}</a>${r.shard && !inGroup ? ` <span class="tag">${h(t("run.shard", { index: r.shard.index, total: r.shard.total }))}</span>` : ""}${inGroup && r.node ? ` <span class="muted">${nodeHTML(r.node)}</span>` : ""}${r.manual && !inGroup ? ` <span class="tag">${h(t("run.manual"))}</span>` : ""}${r.upstream ? ` <span class="tag">${h(t("run.after", { job: r.upstream.job_id }))}</span>` : ""}${r.backfill ? ` <span class="tag">${h(t("run.backfill"))}</span>` : ""}</td>
      <td>${badge(r.status)}</td><td>${h(fmtDur(runMs(r)))}</td><td>${r.attempt}</td><td class="err1">${h((r.error || "").split("\n")[0])}</td></tr>`;
  // The shards of one broadcast fire are listed together, under a row for
  // the fire that counts them by status.
  const out = [];
  for (let i = 0; i < runs.length; ) {
    const r = runs[i];
    let j = i + 1;
    while (r.shard && j < runs.length && runs[j].shard && runs[j].job_id === r.job_id && runs[j].scheduled_at === r.scheduled_at) j++;
    if (j - i < 2) {
      out.push(row(r, false));
      i = j;
      continue;
    }
    const group = runs.slice(i, j).sort((a, b) => a.shard.index - b.shard.index || b.attempt - a.attempt);
    const counts = {};
    for (const g of group) counts[g.status] = (counts[g.status] || 0) + 1;
    const summary = Object.entries(counts).map(([st, n]) => `${n} ${t("status." + st)}`).join(", ");
    out.push(`<tr class="fire"><td>${h(fmtTime(r.scheduled_at))} <span class="tag">${h(t("run.broadcast", { n: r.shard.total }))}</span>${r.manual ? ` <span class="tag">${h(t("run.manual"))}</span>` : ""}</td><td colspan="4">${h(summary)}</td></tr>`);
    for (const g of group) out.push(row(g, true));
    i = j;
  }
  return out.join("") || `<tr><td colspan="5" class="muted">${h(t("job.noruns"))}</td></tr>`;
}

// ---------- backfill ----------

// localInput renders an instant for a datetime-local input.
function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// backfillPage runs a job for every fire in a past range and follows the
// backfill's progress. It has no refresh: live updates would wipe the form.
async function backfillPage(id) {
  const stale = staleCheck();
  const job = await get("/jobs/" + encodeURIComponent(id));
  const now = new Date();
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <div class="head"><h1>${h(t("backfill.title", { job: job.name || job.id }))}</h1></div>
    <section class="card"><p class="muted">${h(t("backfill.explain"))}</p>
      <form id="backfill-form" class="fields">
        ${field("bf-from", t("backfill.from"), `<input id="bf-from" type="datetime-local" required value="${h(localInput(new Date(now - 86400000)))}">`)}
        ${field("bf-to", t("backfill.to"), `<input id="bf-to" type="datetime-local" required value="${h(localInput(now))}">`)}
        ${field("bf-max", t("backfill.max"), `<input id="bf-max" type="number" min="1" value="1">`)}
        ${field("bf-rerun", t("backfill.rerun"), `<input id="bf-rerun" type="checkbox">`)}
        <div class="form-actions"><button class="primary" type="submit">${h(t("action.backfill"))}</button> <a class="button" href="#/jobs/${encodeURIComponent(id)}">${h(t("action.cancel"))}</a> <span id="form-error" class="ferr" role="alert"></span></div>
      </form></section>
    <section class="card" id="bf-progress" hidden></section>`;
  let timer = null;
  const follow = async (bf) => {
    const p = await get("/backfills/" + encodeURIComponent(bf));
    const counts = Object.entries(p.statuses).map(([s, n]) => `${badge(s)} ${n}`).join(" ");
    $("#bf-progress").innerHTML = `<h2>${h(t("backfill.progress"))}</h2><p id="bf-state">${h(t(p.done ? "backfill.done" : "backfill.running", { n: p.runs }))} ${counts}</p>
      <p><a href="#/jobs/${encodeURIComponent(id)}">${h(t("backfill.runs"))}</a>
      ${!p.done && can("operator") ? ` <button class="danger" id="bf-cancel">${h(t("backfill.cancel"))}</button>` : ""}</p>`;
    $("#bf-cancel")?.addEventListener("click", async () => {
      try {
        const { data } = await api("POST", `/backfills/${encodeURIComponent(bf)}/cancel`);
        toast(t("toast.backfillcanceled", { n: data.canceled }));
        follow(bf);
      } catch (err) {
        showError(err);
      }
    });
    if (!p.done) timer = setTimeout(() => follow(bf).catch(showError), 1000);
  };
  $("#backfill-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#form-error").textContent = "";
    try {
      const body = { from: new Date($("#bf-from").value).toISOString(), to: new Date($("#bf-to").value).toISOString(),
        max_concurrent: parseInt($("#bf-max").value || "1", 10), rerun: $("#bf-rerun").checked };
      const { data } = await api("POST", `/jobs/${encodeURIComponent(id)}/backfill`, body);
      toast(t("toast.backfill", { n: data.recorded, skipped: data.skipped }));
      $("#bf-progress").hidden = false;
      clearTimeout(timer);
      await follow(data.id);
    } catch (err) {
      $("#form-error").textContent = err.message;
    }
  });
  return { refresh: null, cleanup: () => clearTimeout(timer) };
}

// ---------- run detail ----------

async function runPage(id) {
  const stale = staleCheck();
  const r = await get("/runs/" + encodeURIComponent(id));
  const active = ["queued", "scheduled", "pending", "running"].includes(r.status);
  const late = r.started_at ? new Date(r.started_at) - new Date(r.scheduled_at) : null;
  const canceling = active && r.cancel_requested;
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <div class="head"><h1>${h(t("run.title", { job: r.job_id }))}</h1><div class="actions">${badge(r.status)}
      ${canceling ? `<span class="badge st-canceling" id="cancel-requested">${h(t("run.cancelrequested"))}</span>` : ""}
      ${active && !canceling && can("operator") ? `<button class="danger" data-act="cancel-run" data-id="${h(r.id)}" data-job="${h(r.job_id)}">${h(t("action.cancelrun"))}</button>` : ""}
      ${!active && can("operator") ? `<button data-act="retry-run" data-id="${h(r.id)}">${h(t("action.retryrun"))}</button>` : ""}</div></div>
    <section class="card">
      <dl class="kv">
        <dt>${h(t("field.job"))}</dt><dd><a href="#/jobs/${encodeURIComponent(r.job_id)}">${h(r.job_id)}</a></dd>
        <dt>${h(t("field.run"))}</dt><dd><code>${h(r.id)}</code></dd>
        <dt>${h(t("field.scheduled"))}</dt><dd>${h(fmtTime(r.scheduled_at))}</dd>
        <dt>${h(t("field.claimed"))}</dt><dd>${h(fmtTime(r.claimed_at))}</dd>
        <dt>${h(t("field.started"))}</dt><dd>${h(fmtTime(r.started_at))}</dd>
        <dt>${h(t("field.ended"))}</dt><dd>${h(fmtTime(r.ended_at))}</dd>
        <dt>${h(t("field.took"))}</dt><dd>${h(fmtDur(runMs(r)))}</dd>
        <dt>${h(t("field.lateness"))}</dt><dd>${h(fmtDur(late))}</dd>
        <dt>${h(t("field.attempt"))}</dt><dd>${r.attempt}${r.manual ? ` <span class="tag">${h(t("run.manual"))}</span>` : ""}${r.backfill ? ` <span class="tag" title="${h(r.backfill)}">${h(t("run.backfill"))}</span>` : ""}</dd>
        <dt>${h(t("field.node"))}</dt><dd id="run-node">${nodeHTML(r.node)}</dd>
        ${r.shard ? `<dt>${h(t("field.shard"))}</dt><dd>${h(t("run.shard", { index: r.shard.index, total: r.shard.total }))}</dd>` : ""}
        ${r.upstream ? `<dt>${h(t("field.startedby"))}</dt><dd><a id="upstream-run" href="#/runs/${encodeURIComponent(r.upstream.id)}">${h(t("run.upstream", { job: r.upstream.job_id, status: r.upstream.status }))}</a></dd>` : ""}
        ${r.exit ? `<dt>${h(t("field.exit"))}</dt><dd>${r.exit.signal ? h(t("run.signal", { s: r.exit.signal })) : h(t("run.exitcode", { n: r.exit.code }))}</dd>` : ""}
      </dl>
    </section>
    ${r.result != null ? `<section class="card"><h2>${h(t("run.result"))}</h2><pre class="json">${h(pretty(r.result))}</pre></section>` : ""}
    ${r.error ? `<section class="card"><h2>${h(t("run.error"))}</h2><pre class="error">${h(r.error)}</pre></section>` : ""}
    <section class="card"><h2>${h(t("run.output"))} ${active ? `<span class="live">${h(t("run.live"))}</span>` : ""}</h2><pre id="output" class="output" tabindex="0">${h(r.output || "")}</pre></section>`;
  if (!active) return { refresh: null };
  // Follow the output as it is written; at the end, show the run whole.
  const out = $("#output");
  const es = new EventSource(`/api/v1/runs/${encodeURIComponent(id)}/output?follow=1`);
  out.textContent = "";
  es.addEventListener("output", (e) => {
    const ev = JSON.parse(e.data);
    if (ev.reset) out.textContent = ev.text;
    else out.textContent += ev.text;
    out.scrollTop = out.scrollHeight;
  });
  es.addEventListener("end", () => {
    es.close();
    if (location.hash === "#/runs/" + encodeURIComponent(id) || location.hash === "#/runs/" + id) runPage(id).then((p) => (current = p));
  });
  return { refresh: null, cleanup: () => es.close() };
}

// ---------- job editor ----------

const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];

function field(id, label, input, hint = "") {
  return `<div class="field" data-for="${h(id)}"><label for="${h(id)}">${h(label)}</label>${input}${hint ? `<small class="muted">${h(hint)}</small>` : ""}<small class="ferr" id="err-${h(id)}" role="alert"></small></div>`;
}
const text = (id, v = "", attrs = "") => `<input id="${h(id)}" value="${h(v ?? "")}" ${attrs}>`;
const num = (id, v = "", attrs = "") => `<input id="${h(id)}" type="number" value="${h(v ?? "")}" ${attrs}>`;
const area = (id, v = "", rows = 3) => `<textarea id="${h(id)}" rows="${rows}" spellcheck="false">${h(v ?? "")}</textarea>`;
const select = (id, options, v) => `<select id="${h(id)}">${options.map(([val, label]) => `<option value="${h(val)}" ${String(val) === String(v ?? "") ? "selected" : ""}>${h(label)}</option>`).join("")}</select>`;
const check = (id, v) => `<input id="${h(id)}" type="checkbox" ${v ? "checked" : ""}>`;

// OTHER_TASK is the editor's choice of a task typed by name: no task is
// named "" (a task name has 1 to 200 characters).
const OTHER_TASK = "";

// keptCalendar is the edited job's calendar when the form cannot show it.
let keptCalendar = null;

async function editorPage(id) {
  const stale = staleCheck();
  const [tasks, scripts, cals, workers, job] = await Promise.all([
    get("/tasks"),
    get("/scripts"),
    get("/calendars"),
    // Worker tasks are offered too; without the list, they can be typed.
    get("/workers").catch(() => ({ tasks: [] })),
    id ? get("/jobs/" + encodeURIComponent(id)) : null,
  ]);
  // A new job starts as one that works when saved: a command that greets.
  const j = job || (tasks.tasks.includes("command")
    ? { task: "command", args: { argv: ["echo", "hello from sundial"] }, trigger: { type: "cron", expr: "0 9 * * 1-5" }, options: {}, tags: [] }
    : { task: tasks.tasks[0], trigger: { type: "cron", expr: "0 9 * * 1-5" }, options: {}, tags: [] });
  const tr = j.trigger || {};
  // A calendar the form cannot show — dates given inline, or a calendar
  // since deleted — is kept as it is unless the user picks another.
  keptCalendar = tr.calendar && (!tr.calendar.name || !cals.calendars.some((c) => c.name === tr.calendar.name)) ? tr.calendar : null;
  const o = j.options || {};
  const a = j.args || {};
  const notify = (o.notify || [])[0] || {};
  const cf = tr.fields || {};
  // The task is one of the server's, a worker task the server knows, or
  // one typed (OTHER_TASK): a worker's task, declared ahead of its worker.
  const workerTasks = workers.tasks.map((x) => x.name).filter((x) => !tasks.tasks.includes(x));
  const taskOptions = [...tasks.tasks.map((x) => [x, x]), ...workerTasks.map((x) => [x, t("editor.workertask", { name: x })]), [OTHER_TASK, t("editor.othertask")]];
  const typedTask = j.task && !tasks.tasks.includes(j.task) && !workerTasks.includes(j.task) ? j.task : "";
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <h1>${h(id ? t("editor.edit", { id }) : t("editor.new"))}</h1>
    <form id="editor" class="editor" novalidate>
      <section class="card"><h2>${h(t("editor.job"))}</h2><div class="fields">
        ${field("e-id", t("field.id"), text("e-id", j.id, id ? "readonly" : 'required pattern="\\S+" placeholder="nightly-report"'))}
        ${field("e-name", t("field.name"), text("e-name", j.name))}
        ${field("e-tags", t("field.tags"), text("e-tags", (j.tags || []).join(", ")), t("hint.comma"))}
        ${field("e-queue", t("field.queue"), text("e-queue", j.queue))}
      </div></section>

      <section class="card"><h2>${h(t("editor.trigger"))}</h2><div class="fields">
        ${field("t-type", t("trigger.type"), select("t-type", ["cron", "interval", "date", "calendar", "and", "or", "none"].map((x) => [x, t("trigger." + x)]), tr.type || "cron"))}
        ${field("t-json", t("trigger.json"), area("t-json", ["and", "or"].includes(tr.type) ? pretty(tr) : pretty({ type: "or", triggers: [{ type: "cron", expr: "0 9 * * 1-5" }, { type: "cron", expr: "0 12 * * 6" }] }), 8), t("hint.combination"))}
        ${field("t-dialect", t("trigger.dialect"), select("t-dialect", [["crontab", "crontab"], ["quartz", "Quartz (xxl-job)"], ["apscheduler", "APScheduler"]], tr.dialect || "crontab"))}
        ${field("t-expr", t("trigger.expr"), text("t-expr", tr.expr, 'placeholder="0 9 * * 1-5" spellcheck="false"'), t("hint.expr"))}
        <div class="fields aps">${["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"].map((k) => field("t-f-" + k, k, text("t-f-" + k, cf[k]))).join("")}</div>
        ${["weeks", "days", "hours", "minutes", "seconds"].map((k) => field("t-" + k, t("unit." + k), num("t-" + k, tr[k], 'min="0" step="any"'))).join("")}
        ${field("t-run_date", t("trigger.run_date"), text("t-run_date", tr.run_date, 'placeholder="2026-12-24 18:00"'))}
        ${field("t-cal-unit", t("trigger.every"), select("t-cal-unit", ["years", "months", "weeks", "days"].map((x) => [x, t("unit." + x)]), ["years", "months", "weeks", "days"].find((k) => tr.type === "calendar" && tr[k]) || "months"))}
        ${field("t-cal-n", t("trigger.count"), num("t-cal-n", ["years", "months", "weeks", "days"].map((k) => tr[k]).find(Boolean) || 1, 'min="1"'))}
        ${field("t-at", t("trigger.at"), text("t-at", tr.type === "calendar" ? [tr.hour || 0, tr.minute || 0, tr.second || 0].map((x) => String(x).padStart(2, "0")).join(":") : "09:00:00", 'placeholder="09:00:00"'))}
        ${field("t-missing", t("trigger.missing_day"), select("t-missing", [["last", t("trigger.missing.last")], ["skip", t("trigger.missing.skip")]], tr.missing_day || "last"))}
        ${field("t-tz", t("trigger.timezone"), `<input id="t-tz" list="zones" value="${h(tr.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC")}"><datalist id="zones">${zones.map((z) => `<option value="${h(z)}">`).join("")}</datalist>`)}
        ${field("t-start", t("trigger.start_date"), text("t-start", tr.start_date))}
        ${field("t-end", t("trigger.end_date"), text("t-end", tr.end_date))}
        ${field("t-jitter", t("trigger.jitter"), text("t-jitter", tr.jitter, 'placeholder="30s"'))}
        ${field("t-cal", t("trigger.calendar"), select("t-cal", [["", t("trigger.calendar.none")], ...(keptCalendar ? [["=", t("trigger.calendar.kept")]] : []), ...cals.calendars.map((c) => [c.name, c.name])], keptCalendar ? "=" : tr.calendar?.name || ""), t("hint.calendar"))}
        ${field("t-rule", t("trigger.rule"), select("t-rule", ["workdays", "exclude", "only", "rest_days"].map((x) => [x, t("rule." + x)]), tr.calendar?.rule || (tr.calendar ? "exclude" : "workdays")))}
      </div>
      <div class="preview" id="preview" aria-live="polite"></div></section>

      <section class="card"><h2>${h(t("editor.task"))}</h2><div class="fields">
        ${field("k-task", t("field.task"), select("k-task", taskOptions, typedTask ? OTHER_TASK : j.task))}
        ${field("k-wtask", t("field.workertask"), text("k-wtask", typedTask, 'placeholder="send_report" spellcheck="false"'), t("hint.workertask"))}
        ${field("k-declare", t("editor.declare"), check("k-declare", false), t("hint.declare"))}
        <div class="kind" data-kind="command">
          ${field("c-argv", t("kind.argv"), area("c-argv", (a.argv || []).join("\n"), 3), t("hint.argv"))}
          ${field("c-shell", t("kind.shell"), check("c-shell", a.shell))}
          ${field("c-dir", t("kind.dir"), text("c-dir", a.dir))}
          ${field("c-env", t("kind.env"), area("c-env", Object.entries(a.env || {}).map(([k, v]) => k + "=" + v).join("\n"), 2), t("hint.env"))}
        </div>
        <div class="kind" data-kind="http">
          ${field("h-method", t("kind.method"), select("h-method", ["GET", "POST", "PUT", "PATCH", "DELETE"].map((x) => [x, x]), a.method || "POST"))}
          ${field("h-url", t("kind.url"), text("h-url", a.url, 'type="url" placeholder="https://app.internal/jobs/cleanup"'))}
          ${field("h-headers", t("kind.headers"), area("h-headers", Object.entries(a.headers || {}).map(([k, v]) => k + ": " + v).join("\n"), 2), t("hint.headers"))}
          ${field("h-body", t("kind.body"), area("h-body", a.body != null ? pretty(a.body) : "", 3), t("hint.json"))}
          ${field("h-expect", t("kind.expect"), text("h-expect", (a.expect || []).join(", "), 'placeholder="200, 204"'))}
          ${field("h-store", t("kind.store_response"), check("h-store", a.store_response))}
        </div>
        <div class="kind" data-kind="python">
          ${field("p-func", t("kind.func"), text("p-func", a.func, 'placeholder="app.jobs:cleanup" spellcheck="false"'))}
        </div>
        <div class="kind" data-kind="script">
          ${field("s-script", t("kind.script"), select("s-script", scripts.scripts.map((s) => [s.name, `${s.name} (${s.lang})`]), a.script))}
          ${field("s-version", t("kind.version"), num("s-version", a.version || "", 'min="1"'), t("hint.latest"))}
        </div>
        <div class="kind" data-kind="python script">
          ${field("p-args", t("kind.args"), area("p-args", a.args ? JSON.stringify(a.args) : "", 1), t("hint.jsonlist"))}
          ${field("p-kwargs", t("kind.kwargs"), area("p-kwargs", a.kwargs ? JSON.stringify(a.kwargs) : "", 2), t("hint.jsonobject"))}
        </div>
        <div class="kind" data-kind="command http python script">
          ${field("x-secrets", t("kind.secrets"), text("x-secrets", (a.secrets || []).join(", ")), t("hint.comma"))}
          ${field("x-timeout", t("kind.timeout"), text("x-timeout", a.timeout, 'placeholder="10m"'))}
        </div>
        <div class="kind" data-kind="other">
          ${field("o-args", t("kind.rawargs"), area("o-args", j.args != null ? pretty(j.args) : "", 4), t("hint.json"))}
        </div>
      </div></section>

      <section class="card"><h2>${h(t("editor.options"))}</h2><div class="fields">
        ${field("o-misfire", t("opt.misfire_grace"), text("o-misfire", o.misfire_grace, 'placeholder="60s"'))}
        ${field("o-coalesce", t("opt.coalesce"), select("o-coalesce", [["", t("opt.default")], ["true", t("opt.yes")], ["false", t("opt.no")]], o.coalesce == null ? "" : String(o.coalesce)))}
        ${field("o-overlap", t("opt.overlap"), select("o-overlap", [["", t("opt.default")], ["skip", t("opt.overlap.skip")], ["queue", t("opt.overlap.queue")], ["allow", t("opt.overlap.allow")]], o.overlap))}
        ${field("o-max", t("opt.max_instances"), num("o-max", o.max_instances, 'min="1"'))}
        ${field("o-timeout", t("opt.timeout"), text("o-timeout", o.timeout, 'placeholder="30m"'))}
        ${field("o-attempts", t("opt.max_attempts"), num("o-attempts", o.max_attempts, 'min="1"'))}
        ${field("o-backoff", t("opt.retry_backoff"), text("o-backoff", o.retry_backoff, 'placeholder="1s"'))}
        ${field("o-onstart", t("opt.run_on_start"), check("o-onstart", o.run_on_start))}
        ${field("o-broadcast", t("opt.broadcast"), check("o-broadcast", o.broadcast), t("hint.broadcast"))}
        ${field("o-then", t("opt.then"), text("o-then", (o.then || []).map((c) => c.job + (c.on && c.on !== "success" ? ":" + c.on : "")).join(", "), 'placeholder="load, page-oncall:failure"'), t("hint.then"))}
        ${field("n-webhook", t("opt.webhook"), text("n-webhook", notify.webhook, 'type="url" placeholder="https://hooks.slack.com/…"'))}
        ${field("n-format", t("opt.format"), select("n-format", ["json", "slack", "dingtalk", "feishu", "wecom"].map((x) => [x, x]), notify.format || "json"))}
        ${field("n-email", t("opt.email"), text("n-email", (notify.email || []).join(", ")), t("hint.comma"))}
      </div></section>
      <div class="form-actions"><button class="primary" type="submit">${h(t("action.save"))}</button> <a class="button" href="${id ? "#/jobs/" + encodeURIComponent(id) : "#/jobs"}">${h(t("action.cancel"))}</a> <span id="form-error" class="ferr" role="alert"></span></div>
    </form>`;

  const show = () => {
    const type = $("#t-type").value, dialect = $("#t-dialect").value, task = $("#k-task").value;
    const vis = (sel, on) => $$(sel).forEach((el) => (el.hidden = !on));
    vis('[data-for="k-wtask"],[data-for="k-declare"]', task === OTHER_TASK);
    vis('[data-for="t-dialect"]', type === "cron");
    vis('[data-for="t-expr"]', type === "cron" && dialect !== "apscheduler");
    vis(".aps", type === "cron" && dialect === "apscheduler");
    vis(["weeks", "days", "hours", "minutes", "seconds"].map((k) => `[data-for="t-${k}"]`).join(","), type === "interval");
    vis('[data-for="t-run_date"]', type === "date");
    vis('[data-for="t-cal-unit"],[data-for="t-cal-n"],[data-for="t-at"],[data-for="t-missing"]', type === "calendar");
    vis('[data-for="t-start"],[data-for="t-end"],[data-for="t-jitter"]', !["date", "and", "or", "none"].includes(type));
    vis('[data-for="t-tz"]', type !== "none");
    vis('[data-for="t-json"]', ["and", "or"].includes(type));
    vis('[data-for="t-tz"]', !["and", "or"].includes(type));
    vis('[data-for="t-cal"]', !["and", "or", "none"].includes(type));
    vis('[data-for="t-rule"]', !["and", "or", "none"].includes(type) && !["", "="].includes($("#t-cal").value));
    const known = ["command", "http", "python", "script"].includes(task);
    for (const k of $$(".kind")) k.hidden = !k.dataset.kind.split(" ").includes(known ? task : "other");
  };
  show();
  let timer = null;
  const preview = async () => {
    const box = $("#preview");
    if (!box) return; // a timer set by typing fired after the editor was left
    let spec;
    try {
      spec = triggerSpec();
    } catch (err) {
      box.innerHTML = `<p class="ferr">${h(err.message)}</p>`;
      return;
    }
    try {
      const { data } = await api("POST", "/cron/preview", { trigger: spec, count: 10 });
      if (!box.isConnected) return; // the editor was left meanwhile
      box.innerHTML = `<p class="desc"><strong>${h(data.description)}</strong></p><p class="muted">${h(t("preview.next", { zone: data.timezone }))}</p>
        <ol class="fires">${data.next.map((x) => `<li><time datetime="${h(x)}">${h(x.replace("T", " "))}</time></li>`).join("") || `<li class="muted">${h(t("preview.none"))}</li>`}</ol>`;
      box.classList.remove("invalid");
    } catch (err) {
      if (!box.isConnected) return;
      box.classList.add("invalid");
      box.innerHTML = `<p class="ferr">${h(err.message)}</p>`;
    }
  };
  $("#editor").addEventListener("input", (e) => {
    show();
    if (e.target.id.startsWith("t-")) {
      clearTimeout(timer);
      timer = setTimeout(preview, 250);
    }
  });
  $("#editor").addEventListener("change", show);
  preview();
  $("#editor").addEventListener("submit", async (e) => {
    e.preventDefault();
    $$(".ferr").forEach((x) => (x.textContent = ""));
    let doc;
    try {
      doc = jobDoc(job);
    } catch (err) {
      $("#form-error").textContent = err.message;
      return;
    }
    try {
      // A typed task the server does not know yet is declared a worker
      // task when asked: its runs wait for a worker that serves it.
      const declare = val("k-task") === OTHER_TASK && $("#k-declare").checked ? "?declare_task=true" : "";
      const path = (id ? "/jobs/" + encodeURIComponent(id) : "/jobs") + declare;
      const headers = id ? { "If-Match": `"${job.version}"` } : {};
      const { data } = await api(id ? "PUT" : "POST", path, doc, headers);
      toast(t("toast.saved", { id: data.id }));
      location.hash = "#/jobs/" + encodeURIComponent(data.id);
    } catch (err) {
      $("#form-error").textContent = err.status === 412 ? t("editor.conflict") : err.message;
      markField(err.problem?.field);
      // An unknown task typed by name: the checkbox is the way to accept it.
      if (err.problem?.field === "task" && val("k-task") === OTHER_TASK && !$("#k-declare").checked) $("#err-k-declare").textContent = t("editor.ticktodeclare");
    }
  });
  return { refresh: null };
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

function val(id) {
  const el = $("#" + id);
  return el ? el.value.trim() : "";
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

const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

function triggerSpec() {
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
      for (const k of ["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"]) if (val("t-f-" + k)) spec.fields[k] = val("t-f-" + k);
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
  if (type !== "date") {
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
function jobDoc(old) {
  const task = val("k-task") === OTHER_TASK ? val("k-wtask") : val("k-task");
  const doc = { task, trigger: triggerSpec(), options: { ...(old?.options || {}) } };
  if (val("e-id")) doc.id = val("e-id");
  if (val("e-name")) doc.name = val("e-name");
  if (val("e-queue")) doc.queue = val("e-queue");
  const tags = list(val("e-tags"));
  if (tags.length) doc.tags = tags;
  let args = old && old.task === task && old.args && typeof old.args === "object" && !Array.isArray(old.args) ? { ...old.args } : {};
  const setArg = (k, v) => (v === undefined || v === "" || (Array.isArray(v) && !v.length) ? delete args[k] : (args[k] = v));
  if (task === "command") {
    args.argv = val("c-argv").split("\n").map((x) => x.trim()).filter(Boolean);
    setArg("shell", $("#c-shell").checked || undefined);
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
    setArg("store_response", $("#h-store").checked || undefined);
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
  if (["command", "http", "python", "script"].includes(task)) {
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
  setOpt("run_on_start", $("#o-onstart").checked || undefined);
  setOpt("broadcast", $("#o-broadcast").checked || undefined);
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

// ---------- scripts ----------

async function scriptsPage() {
  const stale = staleCheck();
  const { scripts } = await get("/scripts");
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <h1>${h(t("nav.scripts"))}</h1>
    ${can("admin") ? `<form id="new-script" class="toolbar card">
      <input id="ns-name" required placeholder="${h(t("scripts.name"))}" aria-label="${h(t("scripts.name"))}" pattern="[A-Za-z0-9][A-Za-z0-9._-]*">
      ${select("ns-lang", [["python", "Python"], ["sh", "sh"], ["bash", "bash"], ["node", "node"]], "python")}
      <button class="primary">${h(t("scripts.new"))}</button></form>` : ""}
    <div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.script"))}</th><th>${h(t("col.lang"))}</th><th>${h(t("col.latest"))}</th><th>${h(t("col.pushed"))}</th><th>${h(t("col.by"))}</th></tr></thead>
    <tbody>${scripts.map((s) => `<tr><td><a href="#/scripts/${encodeURIComponent(s.name)}">${h(s.name)}</a></td><td>${h(s.lang)}</td><td>${s.version}</td><td>${h(fmtTime(s.created_at))}</td><td>${h(s.author)}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">${h(t("scripts.none"))}</td></tr>`}</tbody></table></div>`;
  $("#new-script")?.addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("new-script-lang", $("#ns-lang").value);
    location.hash = "#/scripts/" + encodeURIComponent(val("ns-name"));
  });
  // A refresh would wipe a name being typed: skip it while there is one.
  return { refresh: () => ($("#ns-name")?.value ? undefined : scriptsPage()) };
}

const starter = {
  python: "def run(**kwargs):\n    print('hello from sundial', kwargs)\n    return {'ok': True}\n",
  sh: '#!/bin/sh\necho "hello from sundial: $*"\n',
  bash: '#!/bin/bash\necho "hello from sundial: $*"\n',
  node: "console.log('hello from sundial', process.argv.slice(2));\n",
};
const cmMode = { python: "python", sh: "shell", bash: "shell", node: "javascript" };

async function scriptPage(name) {
  const stale = staleCheck();
  let latest = null, versions = [];
  try {
    latest = await get("/scripts/" + encodeURIComponent(name));
    versions = (await get(`/scripts/${encodeURIComponent(name)}/versions`)).versions;
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const lang = latest?.lang || sessionStorage.getItem("new-script-lang") || "python";
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <div class="head"><h1>${h(name)}</h1><span class="muted">${h(lang)}${latest ? " · " + h(t("scripts.version", { n: latest.version })) : " · " + h(t("scripts.unsaved"))}</span></div>
    <section class="card">
      <div id="editor-box" class="code"></div>
      ${can("admin") ? `<div class="form-actions">
        <button class="primary" id="save">${h(t("scripts.save"))}</button>
        <input id="test-kwargs" placeholder='{"days": 7}' aria-label="${h(t("kind.kwargs"))}">
        <button id="test">${h(t("scripts.test"))}</button> <span id="save-msg" role="status"></span></div>` : ""}
      <div id="test-result"></div>
    </section>
    ${versions.length ? `<section class="card"><h2>${h(t("scripts.versions"))}</h2>
      <div class="table-wrap"><table class="list"><thead><tr><th>A</th><th>B</th><th>${h(t("col.version"))}</th><th>${h(t("col.pushed"))}</th><th>${h(t("col.by"))}</th><th>SHA-256</th><th>${h(t("col.note"))}</th><th></th></tr></thead>
      <tbody>${versions.map((v, i) => `<tr><td><input type="radio" name="va" value="${v.version}" ${i === 1 ? "checked" : ""} aria-label="A ${v.version}"></td><td><input type="radio" name="vb" value="${v.version}" ${i === 0 ? "checked" : ""} aria-label="B ${v.version}"></td>
        <td>${v.version}</td><td>${h(fmtTime(v.created_at))}</td><td>${h(v.author)}</td><td><code>${h(v.checksum.slice(0, 12))}</code></td><td>${h(v.note || "")}</td>
        <td>${can("admin") && i > 0 ? `<button data-rollback="${v.version}">${h(t("scripts.rollback"))}</button>` : ""}</td></tr>`).join("")}</tbody></table></div>
      <button id="compare">${h(t("scripts.compare"))}</button><div id="diff"></div></section>` : ""}`;
  const cm = window.CodeMirror($("#editor-box"), {
    value: latest?.source || starter[lang],
    mode: cmMode[lang],
    lineNumbers: true,
    indentUnit: 4,
    readOnly: !can("admin"),
    extraKeys: { Tab: false, "Shift-Tab": false }, // Tab leaves the editor: keyboard users are not trapped
    theme: document.documentElement.dataset.theme === "dark" ? "sundial-dark" : "default",
  });
  cm.getWrapperElement().setAttribute("aria-label", t("scripts.source"));
  $("#save")?.addEventListener("click", async () => {
    try {
      const { data } = await api("POST", "/scripts", { name, lang, source: cm.getValue() });
      toast(t("scripts.saved", { n: data.version }) + (data.warning ? " — " + data.warning : ""));
      scriptPage(name).then((p) => (current = p));
    } catch (err) {
      $("#save-msg").textContent = err.message;
      $("#save-msg").className = "ferr";
    }
  });
  $("#test")?.addEventListener("click", async () => {
    const box = $("#test-result");
    box.innerHTML = `<p class="muted">${h(t("scripts.testing"))}</p>`;
    try {
      const kwargs = $("#test-kwargs").value.trim() ? JSON.parse($("#test-kwargs").value) : undefined;
      const { data } = await api("POST", "/scripts/test-run", { lang, source: cm.getValue(), kwargs });
      box.innerHTML = `<h3>${badge(data.status)} ${h(fmtDur(data.duration_ms))}</h3>
        ${data.result != null ? `<pre class="json">${h(pretty(data.result))}</pre>` : ""}${data.error ? `<pre class="error">${h(data.error)}</pre>` : ""}<pre class="output">${h(data.output || "")}</pre>`;
    } catch (err) {
      box.innerHTML = `<p class="ferr">${h(err.message)}</p>`;
    }
  });
  $("#compare")?.addEventListener("click", async () => {
    const va = $('input[name="va"]:checked')?.value, vb = $('input[name="vb"]:checked')?.value;
    if (!va || !vb) return;
    const [a, b] = await Promise.all([get(`/scripts/${encodeURIComponent(name)}/versions/${va}`), get(`/scripts/${encodeURIComponent(name)}/versions/${vb}`)]);
    const parts = window.Diff.diffLines(a.source, b.source);
    $("#diff").innerHTML = `<p class="muted">${h(t("scripts.diff", { a: va, b: vb }))}</p><pre class="diff">${parts
      .map((p) => `<span class="${p.added ? "add" : p.removed ? "del" : ""}">${h(p.value.replace(/^(?=.)/gm, p.added ? "+ " : p.removed ? "- " : "  "))}</span>`)
      .join("")}</pre>`;
  });
  main().onclick = async (e) => {
    const b = e.target.closest("[data-rollback]");
    if (!b) return;
    if (!confirm(t("confirm.rollback", { n: b.dataset.rollback }))) return;
    try {
      const { data } = await api("POST", `/scripts/${encodeURIComponent(name)}/rollback`, { version: parseInt(b.dataset.rollback, 10) });
      toast(t("scripts.rolledback", { n: data.version, to: b.dataset.rollback }));
      scriptPage(name).then((p) => (current = p));
    } catch (err) {
      showError(err);
    }
  };
  return { refresh: null };
}

// ---------- nodes ----------

// ---------- calendars ----------

// Days are edited one per line: "2026-10-01 National Day".
const daysText = (days) => (days || []).map((d) => d.date + (d.name ? " " + d.name : "")).join("\n");
function daysOf(id, what) {
  return val(id).split("\n").map((x) => x.trim()).filter(Boolean).map((line) => {
    const m = line.match(/^(\d{4}-\d{2}-\d{2})(?:\s+(.*))?$/);
    if (!m) throw new Error(t("calendar.badline", { what, line }));
    return m[2] ? { date: m[1], name: m[2] } : { date: m[1] };
  });
}

async function calendarsPage() {
  const stale = staleCheck();
  const { calendars } = await get("/calendars");
  if (stale()) return null;
  const span = (c) => {
    const dates = [...(c.holidays || []), ...(c.working_days || [])].map((d) => d.date).sort();
    return dates.length ? `${dates[0]} … ${dates[dates.length - 1]}` : "–";
  };
  main().innerHTML = `
    <div class="head"><h1>${h(t("nav.calendars"))}</h1>${can("admin") ? `<div class="actions"><a class="button primary" href="#/new-calendar" id="cal-new">${h(t("calendar.new"))}</a></div>` : ""}</div>
    <p class="muted">${h(t("calendar.explain"))}</p>
    <table><thead><tr><th>${h(t("field.name"))}</th><th>${h(t("calendar.holidays"))}</th><th>${h(t("calendar.workingdays"))}</th><th>${h(t("calendar.span"))}</th><th>${h(t("field.description"))}</th></tr></thead>
    <tbody>${calendars.map((c) => `<tr><td><a href="#/calendars/${encodeURIComponent(c.name)}">${h(c.name)}</a></td><td>${(c.holidays || []).length}</td><td>${(c.working_days || []).length}</td><td>${h(span(c))}</td><td>${h(c.description || "")}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">${h(t("calendar.none"))}</td></tr>`}</tbody></table>`;
  return { refresh: calendarsPage };
}

// calendarPage edits one calendar, or makes a new one when name is empty:
// its days are typed or read from an .ics file (the server reads it and
// stores nothing until Save).
async function calendarPage(name) {
  const stale = staleCheck();
  const c = name ? await get("/calendars/" + encodeURIComponent(name)) : { name: "", holidays: [], working_days: [], jobs: [] };
  if (stale()) return null;
  const ro = can("admin") ? "" : "readonly";
  main().innerHTML = `
    <h1>${h(name ? t("calendar.title", { name }) : t("calendar.new"))}</h1>
    <form id="calendar" class="editor" novalidate><section class="card"><div class="fields">
      ${field("cal-name", t("field.name"), text("cal-name", c.name, name ? "readonly" : 'required placeholder="cn"'))}
      ${field("cal-desc", t("field.description"), text("cal-desc", c.description, ro))}
      ${field("cal-holidays", t("calendar.holidays"), area("cal-holidays", daysText(c.holidays), 10), t("hint.days"))}
      ${field("cal-working", t("calendar.workingdays"), area("cal-working", daysText(c.working_days), 4), t("hint.workingdays"))}
      ${can("admin") ? field("cal-ics", t("calendar.ics"), `<input id="cal-ics" type="file" accept=".ics,text/calendar">`, t("hint.ics")) : ""}
    </div><div id="cal-skipped" class="muted" aria-live="polite"></div></section>
    ${name ? `<p>${h(t("calendar.jobs"))} ${(c.jobs || []).map((j) => `<a href="#/jobs/${encodeURIComponent(j)}">${h(j)}</a>`).join(", ") || h(t("calendar.nojobs"))}</p>` : ""}
    ${can("admin") ? `<div class="form-actions"><button class="primary" type="submit">${h(t("action.save"))}</button> ${name ? `<button type="button" class="danger" id="cal-delete">${h(t("action.delete"))}</button>` : ""} <a class="button" href="#/calendars">${h(t("action.cancel"))}</a> <span id="form-error" class="ferr" role="alert"></span></div>` : ""}
    </form>`;
  if (!can("admin")) return { refresh: () => calendarPage(name) };
  $("#cal-ics").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      const { data } = await api("POST", "/calendars/ics", { ics: await file.text() });
      $("#cal-holidays").value = daysText(data.holidays);
      $("#cal-working").value = daysText(data.working_days);
      $("#cal-skipped").innerHTML = data.skipped.length ? `<p>${h(t("calendar.skipped", { n: data.skipped.length }))}</p><ul>${data.skipped.map((x) => `<li>${h(x)}</li>`).join("")}</ul>` : "";
      toast(t("toast.icsread", { holidays: data.holidays.length, working: data.working_days.length }));
    } catch (err) {
      showError(err);
    }
  });
  $("#cal-delete")?.addEventListener("click", async () => {
    if ((await ask(t("calendar.confirmdelete", { name }), [], [["delete", t("action.delete"), "danger"], ["", t("action.cancel")]])) !== "delete") return;
    try {
      await api("DELETE", "/calendars/" + encodeURIComponent(name));
      toast(t("toast.deleted", { id: name }));
      location.hash = "#/calendars";
    } catch (err) {
      showError(err);
    }
  });
  $("#calendar").addEventListener("submit", async (e) => {
    e.preventDefault();
    $$(".ferr").forEach((x) => (x.textContent = ""));
    let doc;
    try {
      doc = { description: val("cal-desc"), holidays: daysOf("cal-holidays", t("calendar.holidays")), working_days: daysOf("cal-working", t("calendar.workingdays")) };
    } catch (err) {
      $("#form-error").textContent = err.message;
      return;
    }
    const target = name || val("cal-name");
    try {
      // A new calendar is created, never put over one of the same name.
      if (name) await api("PUT", "/calendars/" + encodeURIComponent(target), doc, { "If-Match": `"${c.version}"` });
      else await api("POST", "/calendars", { ...doc, name: target });
      toast(t("toast.saved", { id: target }));
      location.hash = "#/calendars/" + encodeURIComponent(target);
      if (name) render();
    } catch (err) {
      const map = { name: "cal-name", description: "cal-desc" };
      const f = err.problem?.field || "";
      const id = map[f] || (f.startsWith("holidays") ? "cal-holidays" : f.startsWith("working_days") ? "cal-working" : "");
      if (id) $("#err-" + id).textContent = err.message;
      else $("#form-error").textContent = err.message;
    }
  });
  return null;
}

async function nodesPage() {
  const stale = staleCheck();
  const [status, running] = await Promise.all([get("/status"), get("/runs?status=running&limit=1000")]);
  const inflight = {};
  for (const r of running.runs) inflight[r.node] = (inflight[r.node] || 0) + 1;
  // Durations come as Go duration strings ("15s", "-1.5s", "1m30s").
  const ns = (d) => d || "0s";
  // What each node says about itself, such as how it confines its tasks.
  const known = ["run_as", "landlock", "cgroup_limits", "non_dumpable"];
  const rank = (k) => (known.includes(k) ? known.indexOf(k) : known.length);
  const facts = (n) => Object.entries(n.facts || {}).sort(([a], [b]) => rank(a) - rank(b)).map(([k, v]) => `${h(known.includes(k) ? t("fact." + k) : k)}: ${h(v)}`).join("<br>");
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <h1>${h(t("nav.nodes"))}</h1>
    <section class="card" id="scheduler"><h2>${h(t("sched.title"))}</h2>
      <p>${status.paused ? `${badge("paused")} ${h(t("banner.since", { time: fmtTime(status.paused_since) }))}` : h(t("sched.running"))}</p>
      ${can("operator") ? (status.paused ? `<button class="primary" data-act="scheduler-resume">${h(t("action.resume"))}</button>` : `<button class="danger" data-act="scheduler-pause">${h(t("sched.pause"))}</button>`) : ""}
    </section>
    <p class="muted">${h(t("nodes.this", { node: status.node.node }))} · ${h(status.scheduling ? t("nodes.scheduling") : t("nodes.apionly"))} · ${h(t("nodes.lease", { ttl: ns(status.node.lease_ttl), offset: ns(status.node.clock_offset) }))}</p>
    ${status.node.clock_skewed ? `<div class="error-box" role="alert">${h(t("nodes.skewed", { offset: ns(status.node.clock_offset) }))}</div>` : ""}
    <div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.node"))}</th><th>${h(t("col.host"))}</th><th>PID</th><th>${h(t("col.version"))}</th><th>${h(t("col.queues"))}</th><th>${h(t("col.started"))}</th><th>${h(t("col.lastseen"))}</th><th>${h(t("col.inflight"))}</th><th>${h(t("col.isolation"))}</th></tr></thead>
    <tbody>${status.nodes.map((n) => `<tr><td><code>${h(n.id)}</code>${n.standby ? ` <span class="tag">${h(t("nodes.standby"))}</span>` : ""}</td><td>${h(n.host)}</td><td>${n.pid}</td><td>${h(n.version)}</td><td>${h((n.queues || []).join(", ") || t("nodes.allqueues"))}</td><td>${h(fmtTime(n.started_at))}</td><td>${h(fromNow(n.last_seen))}</td><td>${inflight[n.id] || 0}</td><td class="muted">${facts(n)}</td></tr>`).join("")}</tbody></table></div>`;
  return { refresh: nodesPage };
}

// ---------- workers ----------

// workerState is a worker session's state: live (renewing its leases),
// silent (stopped renewing: dead, frozen or cut off) or stopped (it closed
// its session).
const workerState = (w) => (w.live ? "live" : w.standby ? "stopped" : "silent");

// workersPage lists the worker sessions and the worker tasks, with the
// tasks whose runs wait because no live worker serves them. Everything in
// it but the counts comes from worker processes: all of it is escaped.
async function workersPage() {
  const stale = staleCheck();
  const [list, jobs] = await Promise.all([get("/workers"), get("/jobs?limit=1000")]);
  const order = { live: 0, silent: 1, stopped: 2 };
  const workers = [...list.workers].sort((a, b) => order[workerState(a)] - order[workerState(b)] || String(a.name).localeCompare(String(b.name)));
  const jobsOf = {};
  for (const j of jobs.jobs) (jobsOf[j.task] ||= []).push(j);
  const codes = (names, max) =>
    names.slice(0, max).map((x) => `<code>${h(x)}</code>`).join(", ") + (names.length > max ? ` <span class="muted">${h(t("workers.more", { n: names.length - max }))}</span>` : "");
  const stateBadge = (w) => {
    const st = workerState(w);
    return `<span class="badge wk-${st}" title="${h(t("workers.statehint." + st))}">${h(t("workers.state." + st))}</span>`;
  };
  const row = (w) => `<tr data-worker="${h(w.name)}" data-state="${h(workerState(w))}"><td><code>${h(w.name)}</code></td><td>${stateBadge(w)}</td>
    <td>${h(w.busy ?? 0)} / ${h(w.capacity ?? 0)}</td><td title="${h((w.tasks || []).join(", "))}">${codes(w.tasks || [], 8)}</td>
    <td>${h((w.queues || []).join(", ") || t("nodes.allqueues"))}</td><td>${h(w.host || "")}${w.pid ? `:${h(w.pid)}` : ""}</td><td>${h(w.version || "")}</td>
    <td>${h(ago(w.last_seen))}</td><td>${h(fmtTime(w.started_at))}</td></tr>`;
  const taskRow = (x) => {
    const mine = jobsOf[x.name] || [];
    return `<tr data-task="${h(x.name)}"><td><code>${h(x.name)}</code></td>
    <td>${(x.live_workers || []).length ? codes(x.live_workers, 8) : `<span class="badge st-waiting" title="${h(t("workers.waithint"))}">${h(t("workers.nolive"))}</span>`}</td>
    <td>${mine.slice(0, 5).map((j) => `<a href="#/jobs/${encodeURIComponent(j.id)}">${h(j.name || j.id)}</a>`).join(", ") || "–"}${mine.length > 5 ? ` <span class="muted">${h(t("workers.more", { n: mine.length - 5 }))}</span>` : ""}</td>
    <td>${h(fmtTime(x.declared_at))}</td><td>${h(x.served_at ? ago(x.served_at) : t("workers.neverserved"))}</td></tr>`;
  };
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <h1>${h(t("nav.workers"))}</h1>
    <p class="muted">${h(t("workers.explain"))}</p>
    <section class="card" id="worker-sessions"><h2>${h(t("workers.sessions"))}</h2>
      ${workers.length
        ? `<div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.name"))}</th><th>${h(t("col.state"))}</th><th>${h(t("col.busy"))}</th><th>${h(t("col.tasks"))}</th><th>${h(t("col.queues"))}</th><th>${h(t("col.host"))}</th><th>${h(t("col.version"))}</th><th>${h(t("col.lastseen"))}</th><th>${h(t("col.started"))}</th></tr></thead>
      <tbody>${workers.map(row).join("")}</tbody></table></div>`
        : `<div id="workers-empty"><p>${h(t("workers.empty"))}</p>
      <p>${h(t("workers.howtoken"))}</p><pre>sundial token create --name NAME --role worker</pre>
      <p>${h(t("workers.howflask"))}</p><pre>flask --app app sundial worker</pre>
      <p>${h(t("workers.howgo"))}</p><pre>w, err := worker.New(worker.Config{URL: "http://sundial:8080", Token: os.Getenv("SUNDIAL_TOKEN")})
w.Register("send_report", sundial.Typed(sendReport))
err = w.Run(ctx)</pre>
      <p class="muted">${h(t("workers.docs"))}</p></div>`}
    </section>
    <section class="card" id="worker-tasks"><h2>${h(t("workers.tasks"))}</h2>
      <div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.task"))}</th><th>${h(t("col.servedby"))}</th><th>${h(t("col.jobs"))}</th><th>${h(t("col.declared"))}</th><th>${h(t("col.lastserved"))}</th></tr></thead>
      <tbody>${list.tasks.map(taskRow).join("") || `<tr><td colspan="5" class="muted">${h(t("workers.notasks"))}</td></tr>`}</tbody></table></div>
    </section>`;
  return { refresh: workersPage };
}

// ---------- settings ----------

async function settingsPage() {
  const stale = staleCheck();
  const [tokens, secrets] = await Promise.all([get("/tokens"), get("/secrets")]);
  if (stale()) return null; // the reader has moved on: this page must not paint over the next
  main().innerHTML = `
    <h1>${h(t("nav.settings"))}</h1>
    <section class="card"><h2>${h(t("settings.tokens"))}</h2>
      <form id="new-token" class="toolbar">
        <input id="nt-name" required placeholder="${h(t("settings.tokenname"))}" aria-label="${h(t("settings.tokenname"))}">
        ${select("nt-role", ["viewer", "operator", "admin"].map((r) => [r, t("role." + r)]), "viewer")}
        <button class="primary">${h(t("settings.createtoken"))}</button></form>
      <div id="new-secret"></div>
      <div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.name"))}</th><th>${h(t("col.role"))}</th><th>${h(t("col.created"))}</th><th>${h(t("col.lastused"))}</th><th>${h(t("col.state"))}</th><th></th></tr></thead>
      <tbody>${tokens.tokens.map((x) => `<tr><td>${h(x.name)} <code class="muted">${h(x.id)}</code></td><td>${h(t("role." + x.role))}</td><td>${h(fmtTime(x.created_at))}</td><td>${h(x.last_used_at ? fromNow(x.last_used_at) : "–")}</td>
        <td>${x.revoked_at ? h(t("settings.revoked")) : h(t("state.active"))}</td><td>${x.revoked_at ? "" : `<button data-token="rotate" data-id="${h(x.id)}">${h(t("settings.rotate"))}</button> <button class="danger" data-token="revoke" data-id="${h(x.id)}">${h(t("settings.revoke"))}</button>`}</td></tr>`).join("")}</tbody></table></div>
    </section>
    <section class="card"><h2>${h(t("settings.secrets"))}</h2>
      <form id="set-secret" class="toolbar">
        <input id="ss-name" required placeholder="DB_PASSWORD" aria-label="${h(t("col.name"))}" pattern="[A-Z_][A-Z0-9_]*">
        <input id="ss-value" required type="password" autocomplete="new-password" placeholder="${h(t("settings.value"))}" aria-label="${h(t("settings.value"))}">
        <button class="primary">${h(t("settings.setsecret"))}</button></form>
      <div class="table-wrap"><table class="list"><thead><tr><th>${h(t("col.name"))}</th><th>${h(t("col.updated"))}</th><th>${h(t("col.by"))}</th><th></th></tr></thead>
      <tbody>${secrets.secrets.map((x) => `<tr><td><code>${h(x.name)}</code></td><td>${h(fmtTime(x.updated_at))}</td><td>${h(x.updated_by)}</td><td><button class="danger" data-secret="${h(x.name)}">${h(t("action.delete"))}</button></td></tr>`).join("") || `<tr><td colspan="4" class="muted">${h(t("settings.nosecrets"))}</td></tr>`}</tbody></table></div>
    </section>`;
  const showSecret = (tok) =>
    ($("#new-secret").innerHTML = `<div class="notice" role="alert"><p>${h(t("settings.showonce"))}</p><code class="secret">${h(tok.token)}</code></div>`);
  $("#new-token").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const { data } = await api("POST", "/tokens", { name: val("nt-name"), role: val("nt-role") });
      await settingsPage();
      showSecret(data);
    } catch (err) {
      showError(err);
    }
  });
  $("#set-secret").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("PUT", "/secrets/" + encodeURIComponent(val("ss-name")), { value: $("#ss-value").value });
      toast(t("settings.secretset", { name: val("ss-name") }));
      settingsPage();
    } catch (err) {
      showError(err);
    }
  });
  main().onclick = async (e) => {
    const b = e.target.closest("[data-token],[data-secret]");
    if (!b) return;
    try {
      if (b.dataset.secret) {
        if (!confirm(t("confirm.secret", { name: b.dataset.secret }))) return;
        await api("DELETE", "/secrets/" + encodeURIComponent(b.dataset.secret));
        settingsPage();
      } else if (b.dataset.token === "revoke") {
        if (!confirm(t("confirm.revoke"))) return;
        await api("DELETE", "/tokens/" + encodeURIComponent(b.dataset.id));
        settingsPage();
      } else {
        const { data } = await api("POST", `/tokens/${encodeURIComponent(b.dataset.id)}/rotate`);
        await settingsPage();
        showSecret(data);
      }
    } catch (err) {
      showError(err);
    }
  };
  return { refresh: null };
}

// ---------- start ----------

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("sundial-theme", theme);
}
applyTheme(localStorage.getItem("sundial-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
$("#theme").addEventListener("click", () => {
  applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
  render();
});
$("#lang").addEventListener("change", (e) => {
  setLang(e.target.value);
  render();
});
window.addEventListener("hashchange", () => {
  render().then(startLiveUpdates);
});
render().then(startLiveUpdates);
