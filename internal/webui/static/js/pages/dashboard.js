// The dashboard: counts from the server (GET /status, GET /stats — exact
// at any number of runs), the next fires, the recent failures, and runs
// and durations per hour over the last 24 hours.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { get, getAll } from "../api.js";
import { fmtTime, fromNow, fmtCount, niceCeil, niceDurationCeil, fmtAxisMs } from "../format.js";
import { barChart, jobHref, runHref } from "../ui.js";
import { nextRun } from "./jobs.js";

// The statuses of failed runs, and those the chart shows apart.
const FAILED = ["failed", "timed_out", "lost"];
const SHOWN = ["succeeded", "failed", "timed_out", "lost"];

export function dashboardPage(view) {
  let d = null;
  async function load() {
    const [status, stats, jobs, failures] = await Promise.all([
      get("/status"),
      get("/stats?since=24h"),
      // The next fires of every job: the list pages through them all.
      getAll("/jobs?paused=false", "jobs"),
      get("/runs?status=failed&limit=5"),
    ]);
    d = { status, stats, jobs, failures };
    draw();
  }
  function draw() {
    if (!d) return;
    const { status, stats, jobs, failures } = d;
    const failed24 = FAILED.reduce((s, k) => s + (stats.by_status[k] || 0), 0);
    const next = jobs.filter((j) => j.next_run_at).sort((a, b) => new Date(a.next_run_at) - new Date(b.next_run_at)).slice(0, 8);
    const hours = stats.hours.map((x) => {
      const at = new Date(x.hour);
      const parts = { other: x.total };
      for (const k of SHOWN) {
        parts[k] = x.by_status[k] || 0;
        parts.other -= parts[k];
      }
      return { label: String(at.getHours()).padStart(2, "0") + ":00", parts, avg: x.durations.average_ms };
    });
    const countTop = niceCeil(Math.max(1, ...hours.map((b) => b.parts.other + SHOWN.reduce((s, k) => s + b.parts[k], 0))));
    const durTop = niceDurationCeil(Math.max(0, ...hours.map((b) => b.avg)));
    const statusLabel = (k) => t("status." + k);
    view.paint(html`
      <h1>${t("nav.dashboard")}</h1>
      <div class="cards">
        <a class="card stat" href="#/jobs" id="stat-jobs"><span class="n">${fmtCount(status.jobs.total)}</span><span>${t("dash.jobs")}</span></a>
        <a class="card stat" href="#/jobs" id="stat-paused"><span class="n">${fmtCount(status.jobs.paused)}</span><span>${t("dash.paused")}</span></a>
        <div class="card stat" id="stat-running"><span class="n">${fmtCount(status.runs.running || 0)}</span><span>${t("dash.running")}</span></div>
        <div class="card stat" id="stat-runs24"><span class="n" data-n=${stats.total}>${fmtCount(stats.total)}</span><span>${t("dash.runs24")}</span></div>
        <div class="card stat ${failed24 ? "bad" : ""}" id="stat-failed24"><span class="n" data-n=${failed24}>${fmtCount(failed24)}</span><span>${t("dash.failed24")}</span></div>
      </div>
      <div class="grid2">
        <section class="card">
          <h2>${t("dash.next")}</h2>
          ${next.length
            ? html`<ol class="timeline">${next.map((j) => html`<li><a href=${jobHref(j.id)}>${j.name || j.id}</a> <span class="muted">${nextRun(j)} · ${fmtTime(j.next_run_at)}</span></li>`)}</ol>`
            : html`<p class="muted">${t("dash.nonext")}</p>`}
        </section>
        <section class="card">
          <h2>${t("dash.failures")}</h2>
          ${failures.runs.length
            ? html`<ul class="plain">${failures.runs.map((r) => html`<li><a href=${runHref(r.id)}>${r.job_id}</a> <span class="muted">${fmtTime(r.scheduled_at)}</span><div class="err1">${(r.error || "").split("\n")[0]}</div></li>`)}</ul>`
            : html`<p class="muted">${t("dash.nofailures")}</p>`}
        </section>
      </div>
      <section class="card" id="charts">
        <h2>${t("dash.perhour")}</h2>
        ${barChart(hours, [...SHOWN, "other"], { succeeded: "c-ok", failed: "c-bad", timed_out: "c-warn", lost: "c-warn", other: "c-muted" }, t("dash.perhour"), {
          top: countTop,
          fmt: fmtCount,
          whole: true,
          partLabel: statusLabel,
        })}
        <h2>${t("dash.durations")}</h2>
        ${barChart(hours.map((b) => ({ label: b.label, parts: { duration: b.avg } })), ["duration"], { duration: "c-info" }, t("dash.durations"), {
          top: durTop,
          fmt: fmtAxisMs,
          partLabel: () => t("dash.average"),
        })}
      </section>
      ${nothing}`);
  }
  return { load, refresh: load, redraw: draw };
}
