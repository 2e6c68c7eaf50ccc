// Workers: the worker sessions and the worker tasks, with the tasks whose
// runs wait because no live worker serves them. Everything in it but the
// counts comes from worker processes: all of it is bound as text.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { get, getAll } from "../api.js";
import { fmtTime, ago } from "../format.js";
import { jobHref } from "../ui.js";

// workerState is a worker session's state: live (renewing its leases),
// silent (stopped renewing: dead, frozen or cut off) or stopped (it closed
// its session).
const workerState = (w) => (w.live ? "live" : w.standby ? "stopped" : "silent");
const ORDER = { live: 0, silent: 1, stopped: 2 };

export function workersPage(view) {
  let d = null;
  async function load() {
    const [list, jobs] = await Promise.all([get("/workers"), getAll("/jobs", "jobs")]);
    d = { list, jobs };
    draw();
  }
  function draw() {
    if (!d) return;
    const { list, jobs } = d;
    const workers = [...list.workers].sort((a, b) => ORDER[workerState(a)] - ORDER[workerState(b)] || String(a.name).localeCompare(String(b.name)));
    const jobsOf = {};
    for (const j of jobs) (jobsOf[j.task] ||= []).push(j);
    const codes = (names, max) =>
      html`${names.slice(0, max).map((x, i) => html`${i ? ", " : ""}<code>${x}</code>`)}${names.length > max ? html` <span class="muted">${t("workers.more", { n: names.length - max })}</span>` : nothing}`;
    const stateBadge = (w) => {
      const st = workerState(w);
      return html`<span class="badge wk-${st}" title=${t("workers.statehint." + st)}>${t("workers.state." + st)}</span>`;
    };
    const row = (w) => html`<tr data-worker=${w.name} data-state=${workerState(w)}><td><code>${w.name}</code></td><td>${stateBadge(w)}</td>
      <td>${w.busy ?? 0} / ${w.capacity ?? 0}</td><td title=${(w.tasks || []).join(", ")}>${codes(w.tasks || [], 8)}</td>
      <td>${(w.queues || []).join(", ") || t("nodes.allqueues")}</td><td>${w.host || ""}${w.pid ? `:${w.pid}` : ""}</td><td>${w.version || ""}</td>
      <td>${ago(w.last_seen)}</td><td>${fmtTime(w.started_at)}</td></tr>`;
    const taskRow = (x) => {
      const mine = jobsOf[x.name] || [];
      return html`<tr data-task=${x.name}><td><code>${x.name}</code></td>
        <td>${(x.live_workers || []).length ? codes(x.live_workers, 8) : html`<span class="badge st-waiting" title=${t("workers.waithint")}>${t("workers.nolive")}</span>`}</td>
        <td>${mine.length ? mine.slice(0, 5).map((j, i) => html`${i ? ", " : ""}<a href=${jobHref(j.id)}>${j.name || j.id}</a>`) : "–"}${mine.length > 5 ? html` <span class="muted">${t("workers.more", { n: mine.length - 5 })}</span>` : nothing}</td>
        <td>${fmtTime(x.declared_at)}</td><td>${x.served_at ? ago(x.served_at) : t("workers.neverserved")}</td></tr>`;
    };
    view.paint(html`
      <h1>${t("nav.workers")}</h1>
      <p class="muted">${t("workers.explain")}</p>
      <section class="card" id="worker-sessions"><h2>${t("workers.sessions")}</h2>
        ${workers.length
          ? html`<div class="table-wrap"><table class="list"><thead><tr><th>${t("col.name")}</th><th>${t("col.state")}</th><th>${t("col.busy")}</th><th>${t("col.tasks")}</th><th>${t("col.queues")}</th><th>${t("col.host")}</th><th>${t("col.version")}</th><th>${t("col.lastseen")}</th><th>${t("col.started")}</th></tr></thead>
        <tbody>${workers.map(row)}</tbody></table></div>`
          : html`<div id="workers-empty"><p>${t("workers.empty")}</p>
        <p>${t("workers.howtoken")}</p><pre>sundial token create --name NAME --role worker</pre>
        <p>${t("workers.howflask")}</p><pre>flask --app app sundial worker</pre>
        <p>${t("workers.howgo")}</p><pre>w, err := worker.New(worker.Config{URL: "http://sundial:8080", Token: os.Getenv("SUNDIAL_TOKEN")})
w.Register("send_report", sundial.Typed(sendReport))
err = w.Run(ctx)</pre>
        <p class="muted">${t("workers.docs")}</p></div>`}
      </section>
      <section class="card" id="worker-tasks"><h2>${t("workers.tasks")}</h2>
        <div class="table-wrap"><table class="list"><thead><tr><th>${t("col.task")}</th><th>${t("col.servedby")}</th><th>${t("col.jobs")}</th><th>${t("col.declared")}</th><th>${t("col.lastserved")}</th></tr></thead>
        <tbody>${list.tasks.length ? list.tasks.map(taskRow) : html`<tr><td colspan="5" class="muted">${t("workers.notasks")}</td></tr>`}</tbody></table></div>
      </section>`);
  }
  return { load, refresh: load, redraw: draw };
}
