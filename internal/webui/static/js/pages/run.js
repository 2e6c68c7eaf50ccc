// A run's page: its timings, node, result, error and output. While the
// run goes on, its output is followed as it is written; at its end, the
// page reloads the run in place.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { get, apiURL } from "../api.js";
import { fmtTime, fmtDur, runMs, pretty } from "../format.js";
import { can, isActive } from "../session.js";
import { badge, jobHref, runHref, nodeLink } from "../ui.js";

export function runPage(view, id) {
  let r = null;
  let output = null; // the output followed, while the run goes on
  let follower = null;
  view.onLeave(() => follower?.close());

  async function load() {
    r = await get("/runs/" + encodeURIComponent(id));
    if (!isActive(r.status)) {
      follower?.close();
      follower = null;
      output = null;
    } else if (!follower) follow();
    draw();
  }

  // follow reads the output as it is written; at the end, the run whole.
  function follow() {
    follower = new EventSource(apiURL(`/runs/${encodeURIComponent(id)}/output?follow=1`));
    output = "";
    follower.addEventListener("output", (e) => {
      const ev = JSON.parse(e.data);
      output = ev.reset ? ev.text : output + ev.text;
      draw();
      const out = document.getElementById("output");
      if (out) out.scrollTop = out.scrollHeight;
    });
    follower.addEventListener("end", () => {
      follower?.close();
      follower = null;
      if (view.alive) load().catch(() => {});
    });
  }

  function draw() {
    if (!r) return;
    const active = isActive(r.status);
    const late = r.started_at ? new Date(r.started_at) - new Date(r.scheduled_at) : null;
    const canceling = active && r.cancel_requested;
    view.paint(html`
      <div class="head"><h1>${t("run.title", { job: r.job_id })}</h1><div class="actions">${badge(r.status)}
        ${canceling ? html`<span class="badge st-canceling" id="cancel-requested">${t("run.cancelrequested")}</span>` : nothing}
        ${active && !canceling && can("operator") ? html`<button class="danger" data-act="cancel-run" data-id=${r.id} data-job=${r.job_id}>${t("action.cancelrun")}</button>` : nothing}
        ${!active && can("operator") ? html`<button data-act="retry-run" data-id=${r.id}>${t("action.retryrun")}</button>` : nothing}</div></div>
      <section class="card">
        <dl class="kv">
          <dt>${t("field.job")}</dt><dd><a href=${jobHref(r.job_id)}>${r.job_id}</a></dd>
          <dt>${t("field.run")}</dt><dd><code>${r.id}</code></dd>
          <dt>${t("field.scheduled")}</dt><dd>${fmtTime(r.scheduled_at)}</dd>
          <dt>${t("field.claimed")}</dt><dd>${fmtTime(r.claimed_at)}</dd>
          <dt>${t("field.started")}</dt><dd>${fmtTime(r.started_at)}</dd>
          <dt>${t("field.ended")}</dt><dd>${fmtTime(r.ended_at)}</dd>
          <dt>${t("field.took")}</dt><dd>${fmtDur(runMs(r))}</dd>
          <dt>${t("field.lateness")}</dt><dd>${fmtDur(late)}</dd>
          <dt>${t("field.attempt")}</dt><dd>${r.attempt}${r.manual ? html` <span class="tag">${t("run.manual")}</span>` : nothing}${r.backfill ? html` <span class="tag" title=${r.backfill}>${t("run.backfill")}</span>` : nothing}</dd>
          <dt>${t("field.node")}</dt><dd id="run-node">${nodeLink(r.node)}</dd>
          ${r.shard ? html`<dt>${t("field.shard")}</dt><dd>${t("run.shard", { index: r.shard.index, total: r.shard.total })}</dd>` : nothing}
          ${r.upstream ? html`<dt>${t("field.startedby")}</dt><dd><a id="upstream-run" href=${runHref(r.upstream.id)}>${t("run.upstream", { job: r.upstream.job_id, status: r.upstream.status })}</a></dd>` : nothing}
          ${r.exit ? html`<dt>${t("field.exit")}</dt><dd>${r.exit.signal ? t("run.signal", { s: r.exit.signal }) : t("run.exitcode", { n: r.exit.code })}</dd>` : nothing}
        </dl>
      </section>
      ${r.result != null ? html`<section class="card"><h2>${t("run.result")}</h2><pre class="json">${pretty(r.result)}</pre></section>` : nothing}
      ${r.error ? html`<section class="card"><h2>${t("run.error")}</h2><pre class="error">${r.error}</pre></section>` : nothing}
      <section class="card"><h2>${t("run.output")} ${active ? html`<span class="live">${t("run.live")}</span>` : nothing}</h2><pre id="output" class="output" tabindex="0">${output ?? r.output ?? ""}</pre></section>`);
  }
  return { load, refresh: load, redraw: draw };
}
