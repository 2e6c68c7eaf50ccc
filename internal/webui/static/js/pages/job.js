// A job's page: its settings, health and runs. Refreshes update it in
// place: the pages of runs loaded with More stay loaded, open details stay
// open.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { get, getAll, getPages, newestWins, withQuery } from "../api.js";
import { fmtTime, fmtDur, fromNow, runMs, pretty } from "../format.js";
import { can, isActive } from "../session.js";
import { badge, jobHref, runHref, nodeLink, waitingBadge, sparkline, showError } from "../ui.js";
import { jobActions } from "../actions.js";
import { jobZone } from "./jobs.js";

const PAGE = 50; // runs a page adds

export function jobPage(view, id) {
  let d = null;
  let want = PAGE; // how many runs to show: More adds a page
  let startedBy = null; // the jobs whose chains start this one
  const runsPath = `/runs?job_id=${encodeURIComponent(id)}`;
  const begin = newestWins();

  async function load() {
    const newest = begin();
    const [job, page, status, from] = await Promise.all([
      get("/jobs/" + encodeURIComponent(id)),
      getPages(runsPath, "runs", want),
      get("/status"),
      // Every job, once a visit: the chains that start this one seldom
      // change (and the server refuses removing it while any do).
      startedBy ?? getAll("/jobs", "jobs").then((all) => all.filter((j) => (j.options?.then || []).some((c) => c.job === id))),
    ]);
    if (!newest()) return;
    startedBy = from;
    d = { job, status, runs: page.items, cursor: page.cursor };
    draw();
  }

  // more loads the next page of runs.
  async function more() {
    const newest = begin();
    // A refresh that starts before this page arrives fetches it too.
    want = d.runs.length + PAGE;
    const page = await get(withQuery(runsPath, { limit: PAGE, cursor: d.cursor }));
    if (!newest()) return;
    d.runs = [...d.runs, ...page.runs];
    d.cursor = page.next_cursor || "";
    want = d.runs.length;
    draw();
  }

  function draw() {
    if (!d) return;
    const { job, status, runs } = d;
    // Limits a node cannot enforce: the server accepted the job anyway (isolation.accept_unenforced_limits).
    const limits = ["memory_bytes", "pids"].filter((k) => job.args?.limits?.[k]);
    const lax = status.nodes.filter((n) => (n.facts?.cgroup_limits || "enforced") !== "enforced").map((n) => n.id);
    const ended = runs.filter((r) => !isActive(r.status));
    const ok = ended.filter((r) => r.status === "succeeded").length;
    const durations = ended.map(runMs).filter((x) => x != null).reverse();
    const zone = jobZone(job);
    view.paint(html`
      <div class="head"><h1>${job.name || job.id}</h1><div class="actions">${jobActions(job)}${can("operator") ? html`<a class="button" id="backfill-link" href=${jobHref(job.id) + "/backfill"}>${t("action.backfill")}</a>` : nothing}</div></div>
      ${job.waiting ? html`<div class="notice" id="job-waiting" title=${job.waiting}>${waitingBadge(job)} ${t("job.waitingline", { task: job.task })}</div>` : nothing}
      ${limits.length && lax.length ? html`<div class="error-box" role="alert">${t("job.unenforced", { limits: limits.join(", "), nodes: lax.join(", ") })}</div>` : nothing}
      <div class="grid2">
        <section class="card"><h2>${t("job.settings")}</h2>
          <dl class="kv">
            <dt>${t("field.id")}</dt><dd><code>${job.id}</code></dd>
            <dt>${t("field.task")}</dt><dd>${job.task}</dd>
            <dt>${t("field.schedule")}</dt><dd id="job-schedule">${job.description || ""}</dd>
            <dt>${t("field.state")}</dt><dd>${job.paused ? html`${badge("paused")}${job.pause_reason ? html` <span class="muted">${job.pause_reason}</span>` : nothing}` : badge("active")}</dd>
            <dt>${t("field.next")}</dt><dd id="job-next">${job.next_run_at
              ? html`<time datetime=${job.next_run_at} title=${zone ? `${fmtTime(job.next_run_at, zone)} (${zone})` : nothing}>${fmtTime(job.next_run_at)}</time> <span class="muted">${fromNow(job.next_run_at)}</span>`
              : "–"}</dd>
            <dt>${t("field.queue")}</dt><dd>${job.queue || t("jobs.defaultqueue")}</dd>
            <dt>${t("field.source")}</dt><dd>${t("source." + (job.source || "library"))}</dd>
            <dt>${t("field.version")}</dt><dd>${job.version}</dd>
            ${(job.options?.then || []).length
              ? html`<dt>${t("field.then")}</dt><dd id="chain-then">${job.options.then.map((c, i) => html`${i ? ", " : ""}<a href=${jobHref(c.job)}>${c.job}</a> <span class="muted">${t("chain.on." + (c.on || "success"))}</span>`)}</dd>`
              : nothing}
            ${startedBy.length ? html`<dt>${t("field.startedby")}</dt><dd id="chain-from">${startedBy.map((j, i) => html`${i ? ", " : ""}<a href=${jobHref(j.id)}>${j.name || j.id}</a>`)}</dd>` : nothing}
          </dl>
          <details id="job-definition"><summary>${t("job.definition")}</summary><pre>${pretty({ trigger: job.trigger, args: job.args, options: job.options, tags: job.tags })}</pre></details>
        </section>
        <section class="card"><h2>${t("job.health")}</h2>
          <p class="big">${ended.length ? Math.round((100 * ok) / ended.length) + "%" : "–"}</p>
          <p class="muted">${t("job.successrate", { ok, n: ended.length })}</p>
          <h3>${t("job.trend")}</h3>
          ${sparkline(durations, t("job.trend"))}
        </section>
      </div>
      <section class="card"><h2>${t("job.runs")}</h2>
        <div class="table-wrap"><table class="list"><thead><tr><th>${t("col.scheduled")}</th><th>${t("col.status")}</th><th>${t("col.took")}</th><th>${t("col.attempt")}</th><th>${t("col.error")}</th></tr></thead>
        <tbody id="runs">${runRows(runs)}</tbody></table></div>
        ${d.cursor ? html`<button id="more" @click=${() => more().catch(showError)}>${t("action.more")}</button>` : nothing}
      </section>`);
  }
  return { load, refresh: load, redraw: draw };
}

// runRows are the rows of a list of runs. The shards of one broadcast
// fire are listed together, under a row for the fire that counts them by
// status.
export function runRows(runs) {
  const shard = (r) => t("run.shard", { index: r.shard.index, total: r.shard.total });
  const row = (r, inGroup) => html`<tr class=${inGroup ? "shard" : ""} data-run=${r.id}><td><a href=${runHref(r.id)}>${inGroup ? shard(r) : fmtTime(r.scheduled_at)}</a>${r.shard && !inGroup ? html` <span class="tag">${shard(r)}</span>` : nothing}${inGroup && r.node ? html` <span class="muted">${nodeLink(r.node)}</span>` : nothing}${r.manual && !inGroup ? html` <span class="tag">${t("run.manual")}</span>` : nothing}${r.upstream ? html` <span class="tag">${t("run.after", { job: r.upstream.job_id })}</span>` : nothing}${r.backfill ? html` <span class="tag">${t("run.backfill")}</span>` : nothing}</td>
      <td>${badge(r.status)}</td><td>${fmtDur(runMs(r))}</td><td>${r.attempt}</td><td class="err1">${(r.error || "").split("\n")[0]}</td></tr>`;
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
    out.push(html`<tr class="fire"><td>${fmtTime(r.scheduled_at)} <span class="tag">${t("run.broadcast", { n: r.shard.total })}</span>${r.manual ? html` <span class="tag">${t("run.manual")}</span>` : nothing}</td><td colspan="4">${summary}</td></tr>`);
    for (const g of group) out.push(row(g, true));
    i = j;
  }
  return out.length ? out : html`<tr><td colspan="5" class="muted">${t("job.noruns")}</td></tr>`;
}
