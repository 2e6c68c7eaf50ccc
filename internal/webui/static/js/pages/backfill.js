// Backfill: run a job for every fire in a past range, and follow the
// backfill's progress. Live updates leave the form alone; the progress is
// followed on its own.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, get } from "../api.js";
import { localInput } from "../format.js";
import { can } from "../session.js";
import { badge, field, jobHref, toast, showError, val } from "../ui.js";

export function backfillPage(view, id) {
  let job = null;
  let progress = null; // {id, p}
  let error = "";
  let timer = null;
  view.onLeave(() => clearTimeout(timer));
  const now = new Date();

  async function load() {
    job = await get("/jobs/" + encodeURIComponent(id));
    draw();
  }

  async function follow(bf) {
    clearTimeout(timer);
    const p = await get("/backfills/" + encodeURIComponent(bf));
    progress = { id: bf, p };
    draw();
    if (!p.done && view.alive) timer = setTimeout(() => follow(bf).catch(showError), 1000);
  }

  async function cancel() {
    try {
      const { data } = await api("POST", `/backfills/${encodeURIComponent(progress.id)}/cancel`);
      toast(t("toast.backfillcanceled", { n: data.canceled }));
      await follow(progress.id);
    } catch (err) {
      showError(err);
    }
  }

  async function submit(e) {
    e.preventDefault();
    error = "";
    draw();
    try {
      const body = {
        from: new Date(val("bf-from")).toISOString(),
        to: new Date(val("bf-to")).toISOString(),
        max_concurrent: parseInt(val("bf-max") || "1", 10),
        rerun: document.getElementById("bf-rerun").checked,
      };
      const { data } = await api("POST", `/jobs/${encodeURIComponent(id)}/backfill`, body);
      toast(t("toast.backfill", { n: data.recorded, skipped: data.skipped }));
      await follow(data.id);
    } catch (err) {
      error = err.message;
      draw();
    }
  }

  function draw() {
    if (!job) return;
    const p = progress?.p;
    view.paint(html`
      <div class="head"><h1>${t("backfill.title", { job: job.name || job.id })}</h1></div>
      <section class="card"><p class="muted">${t("backfill.explain")}</p>
        <form id="backfill-form" class="fields" @submit=${submit}>
          ${field("bf-from", t("backfill.from"), html`<input id="bf-from" type="datetime-local" required .value=${localInput(new Date(now - 86400000))}>`)}
          ${field("bf-to", t("backfill.to"), html`<input id="bf-to" type="datetime-local" required .value=${localInput(now)}>`)}
          ${field("bf-max", t("backfill.max"), html`<input id="bf-max" type="number" min="1" .value=${"1"}>`)}
          ${field("bf-rerun", t("backfill.rerun"), html`<input id="bf-rerun" type="checkbox">`)}
          <div class="form-actions"><button class="primary" type="submit">${t("action.backfill")}</button> <a class="button" href=${jobHref(id)}>${t("action.cancel")}</a> <span id="form-error" class="ferr" role="alert">${error}</span></div>
        </form></section>
      <section class="card" id="bf-progress" ?hidden=${!p}>${p
        ? html`<h2>${t("backfill.progress")}</h2><p id="bf-state">${t(p.done ? "backfill.done" : "backfill.running", { n: p.runs })} ${Object.entries(p.statuses).map(([s, n]) => html`${badge(s)} ${n} `)}</p>
          <p><a href=${jobHref(id)}>${t("backfill.runs")}</a>
          ${!p.done && can("operator") ? html` <button class="danger" id="bf-cancel" @click=${cancel}>${t("backfill.cancel")}</button>` : nothing}</p>`
        : nothing}</section>`);
  }
  return { load, redraw: draw };
}
