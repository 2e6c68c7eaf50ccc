// Small pieces of the pages: badges, form fields, toasts, dialogs, charts.
// All are lit-html templates: what they show is bound as text.
import { html, svg, nothing, render } from "./lit.js";
import { t } from "../i18n.js";
import { fmtDur } from "./format.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// tx is t() for a string with parts that are markup: each {name} is
// filled from vars with a template (or text). "Run {cmd}" with
// {cmd: html`<code>…</code>`} shows the command as code.
export function tx(key, vars = {}) {
  return t(key)
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = part.match(/^\{(\w+)\}$/);
      return m && m[1] in vars ? vars[m[1]] : part;
    });
}

// badge shows a run status or job state.
export const badge = (status) => html`<span class="badge st-${status}">${t("status." + status)}</span>`;

// jobLink and runLink link to a job's and a run's page.
export const jobHref = (id) => "#/jobs/" + encodeURIComponent(id);
export const runHref = (id) => "#/runs/" + encodeURIComponent(id);

// workerName returns the name of the worker session a run's node names
// ("worker:NAME"), or "" for a scheduler node.
export function workerName(node) {
  return typeof node === "string" && node.startsWith("worker:") ? node.slice("worker:".length) : "";
}

// nodeText names a run's node in plain text: a worker as "worker NAME".
export function nodeText(node) {
  const w = workerName(node);
  return w ? t("run.worker", { name: w }) : node || "";
}

// nodeLink names a run's node; a worker's links to the Workers page.
export function nodeLink(node) {
  if (!node) return "–";
  return workerName(node) ? html`<a class="worker-node" href="#/workers">${nodeText(node)}</a>` : node;
}

// waitingBadge marks a job whose runs wait for a worker, with the
// server's explanation as its tooltip.
export const waitingBadge = (j) => (j.waiting ? html` <a class="badge st-waiting" href="#/workers" title=${j.waiting}>${t("job.waiting")}</a>` : nothing);

// toast shows a short message for a few seconds.
export function toast(msg, kind = "ok") {
  const box = $("#toasts");
  const el = document.createElement("div");
  el.className = "toast " + kind;
  el.setAttribute("role", "status");
  el.textContent = msg;
  box.append(el);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => el.remove(), 4000);
}

export function showError(err) {
  toast(err.message || String(err), "err");
}

// ask shows a modal question with one button per choice ([value, label,
// class]) and resolves to the value chosen, or "" when dismissed (Escape).
export function ask(message, details, choices) {
  return new Promise((resolve) => {
    const d = document.createElement("dialog");
    d.className = "ask";
    render(
      html`<form method="dialog"><p>${message}</p>${details.length ? html`<ul class="plain">${details.map((x) => html`<li>${x}</li>`)}</ul>` : nothing}
        <div class="form-actions">${choices.map(([v, label, cls]) => html`<button value=${v} class=${cls || ""}>${label}</button>`)}</div></form>`,
      d,
    );
    d.addEventListener("close", () => {
      resolve(d.returnValue);
      d.remove();
    });
    document.body.append(d);
    d.showModal();
  });
}

// ---------- form fields ----------

// field is a labelled form control with its hint and a place for its error.
export const field = (id, label, input, hint = "", hidden = false) =>
  html`<div class="field" data-for=${id} ?hidden=${hidden}><label for=${id}>${label}</label>${input}${hint ? html`<small class="muted">${hint}</small>` : nothing}<small class="ferr" id=${"err-" + id} role="alert"></small></div>`;

// text is a text input. Its value is set once, from v: what the user
// types is never overwritten by a later render with the same v.
export const text = (id, v = "", o = {}) =>
  html`<input id=${id} type=${o.type ?? nothing} .value=${v ?? ""} placeholder=${o.placeholder ?? nothing} ?readonly=${!!o.readonly} ?required=${!!o.required}
    pattern=${o.pattern ?? nothing} spellcheck=${o.spellcheck ?? nothing} list=${o.list ?? nothing} autocomplete=${o.autocomplete ?? nothing} aria-label=${o.label ?? nothing}>`;

export const num = (id, v = "", o = {}) =>
  html`<input id=${id} type="number" .value=${v ?? ""} placeholder=${o.placeholder ?? nothing} min=${o.min ?? nothing} step=${o.step ?? nothing}>`;

export const area = (id, v = "", rows = 3, o = {}) => html`<textarea id=${id} rows=${rows} spellcheck="false" ?readonly=${!!o.readonly} .value=${v ?? ""}></textarea>`;

export const select = (id, options, v, o = {}) =>
  html`<select id=${id} aria-label=${o.label ?? nothing}>${options.map(([val, label]) => html`<option value=${val} ?selected=${String(val) === String(v ?? "")}>${label}</option>`)}</select>`;

export const check = (id, v) => html`<input id=${id} type="checkbox" ?checked=${!!v}>`;

// val is the trimmed value of the form control with the ID.
export function val(id) {
  const el = document.getElementById(id);
  return el ? el.value.trim() : "";
}

// list splits a comma-separated value.
export const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

// ---------- charts ----------

// barChart draws stacked bars: buckets is [{label, parts: {key: n}}];
// top is the value of the axis's top (rounded by the caller) and fmt
// labels values, with their unit; whole counts get no label halfway up
// the axis when its half is not a whole number.
export function barChart(buckets, keys, colors, title, { top, fmt, partLabel, whole = false }) {
  const W = 720, H = 160, pad = 24, left = 56;
  const bw = (W - left) / Math.max(1, buckets.length);
  const bars = [];
  buckets.forEach((b, i) => {
    let y = H - pad;
    for (const k of keys) {
      const v = b.parts[k] || 0;
      if (!v) continue;
      const bh = Math.max(((H - 2 * pad) * v) / top, 1);
      y -= bh;
      bars.push(svg`<rect x=${left + i * bw + 1} y=${y} width=${Math.max(bw - 2, 1)} height=${bh} class=${colors[k]}><title>${b.label}: ${fmt(v)} ${partLabel(k)}</title></rect>`);
    }
    // Every fourth label, where a whole one fits.
    if (i % 4 === 0 && left + i * bw + 32 <= W) bars.push(svg`<text x=${left + i * bw} y=${H - 6} class="axis">${b.label}</text>`);
  });
  return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${title} class="chart">
    <text x=${left - 6} y=${pad + 4} class="axis" text-anchor="end">${fmt(top)}</text>
    ${whole && !Number.isInteger(top / 2) ? nothing : svg`<text x=${left - 6} y=${H / 2 + 4} class="axis" text-anchor="end">${fmt(top / 2)}</text>`}
    <text x=${left - 6} y=${H - pad} class="axis" text-anchor="end">${fmt(0)}</text>
    <line x1=${left} y1=${pad} x2=${W} y2=${pad} class="grid"/><line x1=${left} y1=${H - pad} x2=${W} y2=${H - pad} class="grid"/>${bars}</svg>`;
}

// sparkline draws a line of values, such as a job's run durations.
export function sparkline(values, title) {
  const W = 320, H = 60;
  if (values.length < 2) return html`<p class="muted">${t("job.notenough")}</p>`;
  const max = Math.max(...values, 1);
  const pts = values.map((v, i) => `${(i * W) / (values.length - 1)},${H - 4 - ((H - 8) * v) / max}`).join(" ");
  return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${title} class="spark"><title>${t("job.trendmax", { max: fmtDur(max) })}</title><polyline points=${pts}/></svg>`;
}
