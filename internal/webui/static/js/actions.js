// The job and run actions offered on several pages (run now, pause,
// resume, delete, cancel, retry, the bulk and scheduler-wide ones): the
// buttons carry data-act, and one listener on the document handles them.
import { html, nothing } from "./lit.js";
import { t } from "../i18n.js";
import { api, getAll } from "./api.js";
import { can, activeStatuses } from "./session.js";
import { ask, toast, showError, jobHref, nodeText } from "./ui.js";

// jobActions are a job's buttons, as the role allows.
export function jobActions(j) {
  return html`${can("operator")
    ? html`<button data-act="run" data-id=${j.id}>${t("action.run")}</button>${j.paused
        ? html`<button data-act="resume" data-id=${j.id}>${t("action.resume")}</button>`
        : html`<button data-act="pause" data-id=${j.id}>${t("action.pause")}</button>`}`
    : nothing}${can("admin")
    ? html`<a class="button" href=${jobHref(j.id) + "/edit"}>${t("action.edit")}</a><button class="danger" data-act="delete" data-id=${j.id}>${t("action.delete")}</button>`
    : nothing}`;
}

// activeRuns returns a job's runs that have not ended, on any node.
async function activeRuns(jobID) {
  const lists = await Promise.all(activeStatuses().map((st) => getAll(`/runs?status=${encodeURIComponent(st)}&job_id=${encodeURIComponent(jobID)}`, "runs")));
  return lists.flat();
}

const runLine = (r) => `${r.id} · ${t("status." + r.status)}${r.node ? " · " + nodeText(r.node) : ""}`;

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

// bulkAction pauses, resumes or runs every job that sel (the jobs page's
// tag and queue filter) selects, n of them.
async function bulkAction(action, query, label, n) {
  const question = { pause: "confirm.bulkpause", resume: "confirm.bulkresume", run: "confirm.bulkrun" }[action];
  if (!question || !confirm(t(question, { n, sel: label }))) return;
  const { data } = await api("POST", `/jobs/${action}?${query}`);
  const failed = data.results.filter((r) => r.outcome === "failed");
  toast(t("toast.bulk", { changed: data.changed, unchanged: data.matched - data.changed - data.failed, failed: data.failed }), failed.length ? "err" : "ok");
  for (const r of failed.slice(0, 2)) toast(`${r.id}: ${r.error}`, "err");
}

// listenForActions handles the action buttons of every page; refresh
// refreshes the page shown after an action, and scheduler sets the
// cluster-wide pause.
export function listenForActions({ refresh, scheduler }) {
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
          if (location.hash.startsWith("#/jobs/")) {
            location.hash = "#/jobs";
            return;
          }
          break;
        }
        case "cancel-run": {
          if (!confirm(t("confirm.cancelrun", { job: b.dataset.job }))) return;
          const { res } = await api("POST", `/runs/${encodeURIComponent(id)}/cancel`);
          toast(t(res.status === 202 ? "toast.cancelrequested" : "toast.canceled"));
          break;
        }
        case "retry-run": {
          const { data } = await api("POST", `/runs/${encodeURIComponent(id)}/retry`);
          toast(t("toast.retried", { n: data.attempt }));
          location.hash = "#/runs/" + encodeURIComponent(data.id);
          return;
        }
        case "bulk":
          await bulkAction(b.dataset.bulk, b.dataset.query, b.dataset.label, b.dataset.n);
          break;
        case "scheduler-pause":
        case "scheduler-resume":
          await scheduler(b.dataset.act === "scheduler-pause");
          break;
        default:
          return;
      }
      await refresh();
    } catch (err) {
      showError(err);
    }
  });
}
