// Sundial's web UI: a client of the same API v1 that the CLI uses, with no
// build step. ES modules: js/api.js (the API client), js/format.js,
// js/ui.js (shared pieces), js/live.js (live updates), and one module per
// page in js/pages/. Pages render with lit-html templates, which escape
// every value and update the page in place: a refresh keeps what the
// reader typed, focus, scroll, open details and the pages loaded.
//
// Every string goes through t() (i18n.js). Every URL is relative to the
// page, so that the UI works under any path prefix.
import { t, lang, setLang, LANGS } from "./i18n.js";
import { html, nothing, render, keyed } from "./js/lit.js";
import { api, get } from "./js/api.js";
import { session, loadSession, forget, can } from "./js/session.js";
import { fmtTime } from "./js/format.js";
import { $, toast, showError } from "./js/ui.js";
import { Live } from "./js/live.js";
import { listenForActions } from "./js/actions.js";
import { loginPage } from "./js/pages/login.js";
import { dashboardPage } from "./js/pages/dashboard.js";
import { jobsPage } from "./js/pages/jobs.js";
import { jobPage } from "./js/pages/job.js";
import { runPage } from "./js/pages/run.js";
import { backfillPage } from "./js/pages/backfill.js";
import { transferPage } from "./js/pages/transfer.js";
import { editorPage } from "./js/pages/editor.js";
import { scriptsPage, scriptPage } from "./js/pages/scripts.js";
import { calendarsPage, calendarPage } from "./js/pages/calendars.js";
import { nodesPage } from "./js/pages/nodes.js";
import { workersPage } from "./js/pages/workers.js";
import { settingsPage } from "./js/pages/settings.js";

const main = $("#main");

// ---------- views and routes ----------

// A view is one visit to a page: what it paints goes into #main while
// the visit lasts, and nothing once the reader has gone on (a page that
// fetched slowly must not paint over the next). Each visit starts from
// fresh markup (keyed); its own repaints update that markup in place.
let visits = 0;
function newView() {
  const cleanups = [];
  const view = {
    id: ++visits,
    alive: true,
    paint(tpl) {
      if (!view.alive) return false;
      render(keyed(view.id, tpl), main);
      const h1 = main.querySelector("h1");
      if (h1) document.title = h1.textContent + " · Sundial";
      return true;
    },
    onLeave: (f) => cleanups.push(f),
    leave() {
      view.alive = false;
      for (const f of cleanups) f();
    },
  };
  return view;
}

const dec = decodeURIComponent;
const routes = [
  [/^#\/login$/, (v) => loginPage(v, { onLogin: loggedIn })],
  [/^#?\/?$/, (v) => dashboardPage(v)],
  [/^#\/jobs$/, (v) => jobsPage(v)],
  [/^#\/transfer$/, (v) => transferPage(v)],
  [/^#\/jobs\/new$/, (v) => editorPage(v, null)],
  [/^#\/jobs\/([^/]+)\/edit$/, (v, m) => editorPage(v, dec(m[1]))],
  [/^#\/jobs\/([^/]+)\/backfill$/, (v, m) => backfillPage(v, dec(m[1]))],
  [/^#\/jobs\/([^/]+)$/, (v, m) => jobPage(v, dec(m[1]))],
  [/^#\/runs\/([^/]+)$/, (v, m) => runPage(v, dec(m[1]))],
  [/^#\/scripts$/, (v) => scriptsPage(v)],
  [/^#\/scripts\/([^/]+)$/, (v, m) => scriptPage(v, dec(m[1]))],
  [/^#\/calendars$/, (v) => calendarsPage(v)],
  [/^#\/new-calendar$/, (v) => calendarPage(v, "")],
  [/^#\/calendars\/([^/]+)$/, (v, m) => calendarPage(v, dec(m[1]))],
  [/^#\/nodes$/, (v) => nodesPage(v)],
  [/^#\/workers$/, (v) => workersPage(v)],
  [/^#\/settings$/, (v) => settingsPage(v)],
];

let current = null; // {view, page} of the visit shown

// route shows the page the location names.
async function route() {
  const hash = location.hash || "#/";
  current?.view.leave();
  const view = newView();
  current = { view, page: null };
  if (hash === "#/login") {
    // Logged out, or the session ended: no more live updates until a login.
    live.stop();
    forget();
  } else if (!session.me) {
    try {
      await loadSession();
    } catch {
      if (view.alive) location.hash = "#/login";
      return;
    }
  }
  if (!view.alive) return;
  layout();
  refreshBanner();
  const found = routes.find(([re]) => re.test(hash));
  if (!found) {
    view.paint(html`<h1>${t("page.notfound")}</h1>`);
    return;
  }
  const page = found[1](view, hash.match(found[0]));
  current.page = page;
  main.setAttribute("aria-busy", "true");
  try {
    await page.load();
  } catch (err) {
    if (err.status !== 401) view.paint(html`<div class="error-box">${err.message}</div>`);
  }
  if (view.alive) main.removeAttribute("aria-busy");
}

// refresh refetches what the page shows and updates it in place. #main's
// data-refreshes counts the refreshes asked for (the browser test waits
// on it).
async function refresh() {
  main.dataset.refreshes = String(Number(main.dataset.refreshes || 0) + 1);
  const c = current;
  if (c?.view.alive && c.page?.refresh) await c.page.refresh();
}

// redraw paints the page again from what it has (a new language or theme).
function redraw() {
  const c = current;
  if (!c?.view.alive || !c.page) return;
  if (c.page.refresh) c.page.refresh().catch(showError);
  else c.page.redraw?.();
}

// ---------- layout ----------

const NAV = [
  ["#/", "nav.dashboard"],
  ["#/jobs", "nav.jobs"],
  ["#/scripts", "nav.scripts"],
  ["#/calendars", "nav.calendars"],
  ["#/nodes", "nav.nodes"],
  ["#/workers", "nav.workers"],
];

function layout() {
  const { me } = session;
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  const cur = location.hash || "#/";
  // Export and import is a page of the jobs; a new calendar, of the calendars.
  const active = (href) => (href === "#/" ? cur === "#/" : cur.startsWith(href) || (href === "#/jobs" && cur === "#/transfer") || (href === "#/calendars" && cur === "#/new-calendar"));
  const nav = can("admin") ? [...NAV, ["#/settings", "nav.settings"]] : NAV;
  render(me ? nav.map(([href, key]) => html`<a href=${href} data-nav=${href} class=${active(href) ? "active" : ""} aria-current=${active(href) ? "page" : nothing}>${t(key)}</a>`) : nothing, $("#nav"));
  render(
    me
      ? html`<button id="live" type="button" class="live-toggle ${live.paused ? "off" : "on"}" aria-pressed=${live.paused ? "true" : "false"} title=${t(live.paused ? "live.resumehint" : "live.pausehint")}
            @click=${() => live.setPaused(!live.paused)}>${t(live.paused ? "live.paused" : "live.on")}</button>`
      : nothing,
    $("#live-box"),
  );
  render(me ? html`<span class="muted">${me.name} · ${t("role." + me.role)}</span> <button id="logout" class="link" @click=${logout}>${t("action.logout")}</button>` : nothing, $("#who"));
  render(LANGS.map(([code, name]) => html`<option value=${code} ?selected=${code === lang()}>${name}</option>`), $("#lang"));
  $("#lang").value = lang();
  $("#lang").setAttribute("aria-label", t("pref.language"));
  $("#theme").textContent = t(document.documentElement.dataset.theme === "dark" ? "pref.light" : "pref.dark");
  $("#skip").textContent = t("a11y.skip");
}

// ---------- the cluster-wide pause ----------

// The banner on every page while the scheduler is paused cluster-wide,
// with a Resume button for operators.
let scheduler = null; // {paused, since}
async function refreshBanner() {
  if (!session.me) {
    scheduler = null;
    return drawBanner();
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
  render(
    scheduler?.paused
      ? html`<strong>${t("banner.paused")}</strong> <span>${t("banner.since", { time: fmtTime(scheduler.since) })}</span>
          ${can("operator") ? html`<button class="primary" data-act="scheduler-resume">${t("action.resume")}</button>` : nothing}`
      : nothing,
    b,
  );
}

async function setSchedulerPaused(pause) {
  if (pause && !confirm(t("confirm.schedpause"))) return;
  const { data } = await api("POST", pause ? "/scheduler/pause" : "/scheduler/resume");
  scheduler = data;
  drawBanner();
  toast(t(pause ? "toast.schedpaused" : "toast.schedresumed"));
}

// ---------- session ----------

async function loggedIn() {
  forget();
  // The dashboard, without the login page's ?error.
  history.replaceState(null, "", "./#/");
  await route();
  live.start();
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
  live.stop();
  forget();
  location.hash = "#/login";
}

// ---------- start ----------

const live = new Live({
  refresh,
  onEvent: (e) => e.kind?.startsWith("scheduler_") && refreshBanner(),
  onTick: () => session.me && refreshBanner(),
  onChange: layout,
});

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("sundial-theme", theme);
}
applyTheme(localStorage.getItem("sundial-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
$("#theme").addEventListener("click", () => {
  applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
  layout();
  current?.page?.redraw?.();
});
$("#lang").addEventListener("change", (e) => {
  setLang(e.target.value);
  layout();
  drawBanner();
  redraw();
});
listenForActions({ refresh, scheduler: setSchedulerPaused });
window.addEventListener("hashchange", () => route().then(() => session.me && live.start()));
route().then(() => session.me && live.start());
