// The jobs list: paged by the server (Load more follows next_cursor, with
// no cap), filtered by the server on state, tag, queue and task, searched
// here among the jobs loaded; bulk pause, resume and run of a tag or
// queue; each job's last run.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { get, getAll, getPages, newestWins, withQuery } from "../api.js";
import { fmtTime, fmtDur, fromNow, runMs } from "../format.js";
import { can, session } from "../session.js";
import { badge, jobHref, runHref, waitingBadge, showError, $ } from "../ui.js";
import { jobActions } from "../actions.js";

const PAGE = 100; // jobs a page of the list adds

// The filters, kept while the reader visits other pages. queue is null
// for every queue ("" is the default queue).
const filters = { q: "", state: "", tag: "", queue: null, task: "" };

// The tags and queues seen in the jobs loaded so far: what the filters
// offer.
const seen = { tags: new Set(), queues: new Set() };

// olderLast holds the last run of jobs that have none among the most
// recent runs (null for none at all): such a run does not change until a
// newer one is among the recent ones.
const olderLast = new Map();

// started reports whether a run has started or ended: a run that waits
// for its time or its turn is not a job's last run yet.
const started = (r) => !!(r.started_at || r.ended_at);

// jobZone is the time zone of a job's trigger, when it names one.
export const jobZone = (j) => j.trigger?.timezone || "";

// nextRun shows when a job fires next, from now; the instant in the
// viewer's zone and in the job's own zone are on hover.
export function nextRun(j) {
  if (!j.next_run_at) return "–";
  const zone = jobZone(j);
  const title = fmtTime(j.next_run_at) + (zone ? ` · ${fmtTime(j.next_run_at, zone)} (${zone})` : "");
  return html`<time datetime=${j.next_run_at} title=${title}>${fromNow(j.next_run_at)}</time>`;
}

// bulkSelector is the tag and queue filter as the bulk routes' query, or
// null when neither is chosen.
function bulkSelector() {
  if (!filters.tag && filters.queue === null) return null;
  const params = {};
  const label = [];
  if (filters.tag) {
    params.tag = filters.tag;
    label.push(t("bulk.tag", { tag: filters.tag }));
  }
  if (filters.queue !== null) {
    params.queue = filters.queue;
    label.push(t("bulk.queue", { queue: filters.queue || t("jobs.defaultqueue") }));
  }
  return { params, query: new URLSearchParams(params).toString(), label: label.join(", ") };
}

// fillOlderLast finds the last run of the jobs that have none among the
// recent runs, a few at a time.
async function fillOlderLast(ids) {
  const todo = ids.filter((id) => !olderLast.has(id));
  const one = async () => {
    while (todo.length) {
      const id = todo.shift();
      const { runs } = await get(`/runs?limit=20&job_id=${encodeURIComponent(id)}`);
      olderLast.set(id, runs.find(started) || null);
    }
  };
  await Promise.all([one(), one(), one(), one()]);
}

export function jobsPage(view) {
  let d = null;
  let want = PAGE; // how many jobs to show: Load more adds a page
  const begin = newestWins();

  // path is the list's path with the server's filters.
  function path() {
    const q = {};
    if (filters.state) q.paused = String(filters.state === "paused");
    if (filters.tag) q.tag = filters.tag;
    if (filters.queue !== null) q.queue = filters.queue;
    if (filters.task) q.task = filters.task;
    return withQuery("/jobs", q);
  }

  // load (and each refresh) fetches as many jobs as are shown: the pages
  // loaded stay loaded.
  async function load() {
    const newest = begin();
    const sel = bulkSelector();
    const [page, recent, bulkN] = await Promise.all([
      getPages(path(), "jobs", want),
      get("/runs?limit=500"),
      // What a bulk action would select: every job of the tag and queue.
      sel && can("operator") ? getAll(withQuery("/jobs", sel.params), "jobs").then((l) => l.length) : null,
    ]);
    const last = {};
    for (const r of recent.runs) if (!last[r.job_id] && started(r)) last[r.job_id] = r;
    await fillOlderLast(page.items.map((j) => j.id).filter((id) => !last[id]));
    if (!newest()) return;
    see(page.items);
    d = { jobs: page.items, cursor: page.cursor, last, bulkN };
    draw();
  }

  // more loads the next page of jobs.
  async function more() {
    const newest = begin();
    // A refresh that starts before this page arrives fetches it too.
    want = d.jobs.length + PAGE;
    const page = await get(withQuery(path(), { limit: PAGE, cursor: d.cursor }));
    await fillOlderLast(page.jobs.map((j) => j.id).filter((id) => !d.last[id]));
    if (!newest()) return;
    see(page.jobs);
    d.jobs = [...d.jobs, ...page.jobs];
    d.cursor = page.next_cursor || "";
    want = d.jobs.length;
    draw();
  }

  function see(jobs) {
    for (const j of jobs) {
      for (const x of j.tags || []) seen.tags.add(x);
      seen.queues.add(j.queue || "");
    }
  }

  function setFilter(k, v) {
    filters[k] = v;
    want = PAGE;
    if (k === "q") draw();
    else load().catch(showError);
  }

  function draw() {
    if (!d || !view.alive) return;
    const q = filters.q.toLowerCase();
    const rows = d.jobs.filter((j) => !q || j.id.toLowerCase().includes(q) || (j.name || "").toLowerCase().includes(q));
    const tags = [...new Set([...seen.tags, ...(filters.tag ? [filters.tag] : [])])].sort();
    const queues = [...new Set([...seen.queues, ...(filters.queue !== null ? [filters.queue] : [])])].sort();
    // The server's own tasks, and the worker tasks jobs name.
    const kinds = [...new Set([...(session.meta?.tasks || []), ...d.jobs.map((j) => j.task), ...(filters.task ? [filters.task] : [])])].sort();
    const sel = bulkSelector();
    const lastRun = (j) => {
      const r = d.last[j.id] || olderLast.get(j.id);
      return r ? html`<a href=${runHref(r.id)}>${badge(r.status)}</a> <span class="muted">${fmtDur(runMs(r))}</span>` : "–";
    };
    view.paint(html`
      <div class="head"><h1>${t("nav.jobs")}</h1><div class="actions"><a class="button" id="transfer-link" href="#/transfer">${t(can("admin") ? "jobs.transfer" : "jobs.exportonly")}</a>${can("admin") ? html` <a class="button primary" href="#/jobs/new">${t("jobs.new")}</a>` : nothing}</div></div>
      <div class="toolbar" role="search">
        <input id="f-q" type="search" placeholder=${t("jobs.search")} aria-label=${t("jobs.search")} .value=${filters.q} @input=${(e) => setFilter("q", e.target.value)}>
        <select id="f-state" aria-label=${t("jobs.state")} @change=${(e) => setFilter("state", e.target.value)}><option value="">${t("jobs.allstates")}</option><option value="active">${t("state.active")}</option><option value="paused">${t("state.paused")}</option></select>
        <select id="f-tag" aria-label=${t("jobs.tag")} @change=${(e) => setFilter("tag", e.target.value)}><option value="">${t("jobs.alltags")}</option>${tags.map((x) => html`<option value=${x}>${x}</option>`)}</select>
        <select id="f-queue" aria-label=${t("jobs.queue")} @change=${(e) => setFilter("queue", e.target.value === "" ? null : e.target.value.slice(2))}><option value="">${t("jobs.allqueues")}</option>${queues.map((x) => html`<option value=${"q:" + x}>${x || t("jobs.defaultqueue")}</option>`)}</select>
        <select id="f-task" aria-label=${t("jobs.kind")} @change=${(e) => setFilter("task", e.target.value)}><option value="">${t("jobs.allkinds")}</option>${kinds.map((x) => html`<option value=${x}>${x}</option>`)}</select>
      </div>
      <div id="bulk" class="toolbar bulk" ?hidden=${!(sel && can("operator") && d.bulkN != null)}>${sel && d.bulkN != null
        ? html`<span>${t("bulk.selected", { n: d.bulkN, sel: sel.label })}</span>
          ${["pause", "resume", "run"].map((a) => html`<button data-act="bulk" data-bulk=${a} data-query=${sel.query} data-label=${sel.label} data-n=${d.bulkN}>${t("bulk." + a)}</button>`)}`
        : nothing}</div>
      <div class="table-wrap"><table class="list" id="jobs">
        <thead><tr><th>${t("col.job")}</th><th>${t("col.task")}</th><th>${t("col.schedule")}</th><th>${t("col.next")}</th><th>${t("col.last")}</th><th>${t("col.actions")}</th></tr></thead>
        <tbody>${rows.length
          ? rows.map(
              (j) => html`<tr>
            <td><a href=${jobHref(j.id)}>${j.name || j.id}</a>${j.name ? html`<div class="muted small">${j.id}</div>` : nothing}${(j.tags || []).map((x) => html` <span class="tag">${x}</span>`)}</td>
            <td>${j.task}${waitingBadge(j)}</td>
            <td>${j.description || ""}</td>
            <td>${j.paused ? badge("paused") : nextRun(j)}</td>
            <td>${lastRun(j)}</td>
            <td class="actions">${jobActions(j)}</td></tr>`,
            )
          : html`<tr><td colspan="6" class="muted">${t("jobs.none")}</td></tr>`}</tbody></table></div>
      ${d.cursor
        ? html`<p class="pager"><button id="jobs-more" @click=${() => more().catch(showError)}>${t("action.more")}</button> <span class="muted">${t("jobs.loaded", { n: d.jobs.length })}</span></p>`
        : nothing}`);
    // The selects show the filters: options come and go as jobs load, and
    // an option's place is no sure guide to which one is chosen.
    $("#f-state").value = filters.state;
    $("#f-tag").value = filters.tag;
    $("#f-queue").value = filters.queue === null ? "" : "q:" + filters.queue;
    $("#f-task").value = filters.task;
  }
  return { load, refresh: load, redraw: draw };
}
