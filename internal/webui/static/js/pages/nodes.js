// Nodes: the scheduling nodes of the cluster, and the cluster-wide pause.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { get, getAll } from "../api.js";
import { fmtTime, fromNow } from "../format.js";
import { can } from "../session.js";
import { badge } from "../ui.js";

// What each node says about itself, such as how it confines its tasks.
const KNOWN_FACTS = ["run_as", "landlock", "cgroup_limits", "non_dumpable"];

export function nodesPage(view) {
  let d = null;
  async function load() {
    const [status, running] = await Promise.all([get("/status"), getAll("/runs?status=running", "runs")]);
    const inflight = {};
    for (const r of running) inflight[r.node] = (inflight[r.node] || 0) + 1;
    d = { status, inflight };
    draw();
  }
  function draw() {
    if (!d) return;
    const { status, inflight } = d;
    // Durations come as Go duration strings ("15s", "-1.5s", "1m30s").
    const ns = (x) => x || "0s";
    const rank = (k) => (KNOWN_FACTS.includes(k) ? KNOWN_FACTS.indexOf(k) : KNOWN_FACTS.length);
    const facts = (n) =>
      Object.entries(n.facts || {})
        .sort(([a], [b]) => rank(a) - rank(b))
        .map(([k, v], i) => html`${i ? html`<br>` : nothing}${KNOWN_FACTS.includes(k) ? t("fact." + k) : k}: ${v}`);
    view.paint(html`
      <h1>${t("nav.nodes")}</h1>
      <section class="card" id="scheduler"><h2>${t("sched.title")}</h2>
        <p>${status.paused ? html`${badge("paused")} ${t("banner.since", { time: fmtTime(status.paused_since) })}` : t("sched.running")}</p>
        ${can("operator")
          ? status.paused
            ? html`<button class="primary" data-act="scheduler-resume">${t("action.resume")}</button>`
            : html`<button class="danger" data-act="scheduler-pause">${t("sched.pause")}</button>`
          : nothing}
      </section>
      <p class="muted">${t("nodes.this", { node: status.node.node })} · ${status.scheduling ? t("nodes.scheduling") : t("nodes.apionly")} · ${t("nodes.lease", { ttl: ns(status.node.lease_ttl), offset: ns(status.node.clock_offset) })}</p>
      ${status.node.clock_skewed ? html`<div class="error-box" role="alert">${t("nodes.skewed", { offset: ns(status.node.clock_offset) })}</div>` : nothing}
      <div class="table-wrap"><table class="list"><thead><tr><th>${t("col.node")}</th><th>${t("col.host")}</th><th>PID</th><th>${t("col.version")}</th><th>${t("col.queues")}</th><th>${t("col.started")}</th><th>${t("col.lastseen")}</th><th>${t("col.inflight")}</th><th>${t("col.isolation")}</th></tr></thead>
      <tbody>${status.nodes.map(
        (n) => html`<tr><td><code>${n.id}</code>${n.standby ? html` <span class="tag">${t("nodes.standby")}</span>` : nothing}</td><td>${n.host}</td><td>${n.pid}</td><td>${n.version}</td><td>${(n.queues || []).join(", ") || t("nodes.allqueues")}</td><td>${fmtTime(n.started_at)}</td><td>${fromNow(n.last_seen)}</td><td>${inflight[n.id] || 0}</td><td class="muted">${facts(n)}</td></tr>`,
      )}</tbody></table></div>`);
  }
  return { load, refresh: load, redraw: draw };
}
