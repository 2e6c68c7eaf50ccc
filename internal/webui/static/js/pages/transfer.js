// Export jobs to a file and import one: a dry run first, whose report the
// reader checks, then Apply for the same file and the same choice of
// Replace. Live updates leave it alone: they would change nothing here.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, getAll, RawJSON } from "../api.js";
import { can } from "../session.js";
import { field, check, jobHref, toast } from "../ui.js";

// The outcomes an import reports for an item, as the server names them.
const outcomes = ["created", "updated", "unchanged", "skipped", "missing"];

// exportName is the file name of an export made today: the date, and the
// tag when there is one (reduced to characters every file system takes).
function exportName(tag) {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  const slug = tag.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return `sundial-jobs-${slug ? slug + "-" : ""}${day}.json`;
}

// indentJSON lays JSON text out two spaces a level, token by token, so
// that numbers keep every digit (JSON.parse rounds those past 2^53).
export function indentJSON(text) {
  let out = "", depth = 0, inStr = false, esc = false;
  const nl = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (esc) esc = false;
      else if (c === "\\") esc = true;
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (c === "{" || c === "[") {
      let j = i + 1;
      while (/\s/.test(text[j] || "")) j++;
      if (text[j] === (c === "{" ? "}" : "]")) {
        out += c + text[j]; // an empty object or list stays on its line
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += nl() + c;
    } else if (c === ",") out += "," + nl();
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return out + "\n";
}

// download hands text to the browser as a file to save.
function download(name, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

// importReport shows what an import did, or would do, item by item.
function importReport(rep) {
  const items = rep.items || [];
  const counts = {};
  for (const it of items) counts[it.action] = (counts[it.action] || 0) + 1;
  const outcome = (a) => html`<span class="badge out-${a}">${outcomes.includes(a) ? t("outcome." + a) : a}</span>`;
  const kind = (k) => (["job", "calendar", "script", "secret"].includes(k) ? t("item." + k) : k);
  return html`<h3 id="im-title">${t(rep.dry_run ? "xfer.dryrun" : "xfer.done")}</h3>
    ${items.length
      ? html`<p id="im-summary">${Object.keys(counts)
            .sort((a, b) => outcomes.indexOf(a) - outcomes.indexOf(b))
            .map((a, i) => html`${i ? " · " : ""}${outcome(a)} ${counts[a]}`)}</p>
          <div class="table-wrap"><table class="list" id="im-items"><thead><tr><th>${t("col.item")}</th><th>${t("field.id")}</th><th>${t("col.outcome")}</th><th>${t("col.detail")}</th></tr></thead>
          <tbody>${items.map(
            (it) => html`<tr data-kind=${it.kind} data-id=${it.id} data-action=${it.action}><td>${kind(it.kind)}</td>
            <td>${it.kind === "job" && !rep.dry_run ? html`<a href=${jobHref(it.id)}><code>${it.id}</code></a>` : html`<code>${it.id}</code>`}</td>
            <td>${outcome(it.action)}</td><td>${it.detail || ""}</td></tr>`,
          )}</tbody></table></div>`
      : html`<p class="muted">${t("xfer.nothing")}</p>`}`;
}

// problemBox shows a failed request's problem document: what went wrong,
// and the field of the document at fault when the server names one.
function problemBox(err, note = "") {
  if (typeof err === "string") return err;
  const p = err.problem || {};
  return html`<strong>${p.title || t("xfer.failed")}</strong>${p.field && p.field !== "(body)" ? html` <span class="muted">${t("xfer.field", { field: p.field })}</span>` : nothing}<div>${p.detail || err.message}</div>${note ? html`<div>${note}</div>` : nothing}`;
}

export function transferPage(view) {
  let tags = null;
  const s = {
    exported: null, // {data, name} or {err}
    checked: null, // the file text and Replace choice of the last dry run the server accepted
    state: "xfer.checkfirst",
    error: null, // {err, note}
    report: null,
  };

  async function load() {
    const jobs = await getAll("/jobs", "jobs");
    tags = [...new Set(jobs.flatMap((j) => j.tags || []))].sort();
    draw();
  }

  async function exportJobs(e) {
    e.preventDefault();
    const tag = document.getElementById("x-tag").value;
    try {
      const { data, text } = await api("GET", "/export" + (tag ? "?tag=" + encodeURIComponent(tag) : ""));
      const name = exportName(tag);
      download(name, indentJSON(text));
      s.exported = { data, name };
    } catch (err) {
      s.exported = { err };
    }
    draw();
  }

  // reset forgets the dry run: Apply needs a new one.
  function reset() {
    Object.assign(s, { checked: null, error: null, report: null, state: "xfer.checkfirst" });
    draw();
  }

  const send = async (text, replace, dryRun) => {
    const q = new URLSearchParams({ dry_run: String(dryRun), replace: String(replace) });
    return (await api("POST", "/import?" + q, new RawJSON(text))).data;
  };

  async function checkFile() {
    reset();
    const file = document.getElementById("im-file").files[0];
    const fail = (err) => {
      s.error = { err };
      draw();
    };
    if (!file) return fail(t("xfer.nofile"));
    const text = await file.text();
    // The server reads JSON; a YAML file is for the CLI, which converts it.
    if (!/^\s*[[{]/.test(text)) return fail(t("xfer.notjson"));
    const replace = document.getElementById("im-replace").checked;
    s.state = "xfer.checking";
    draw();
    try {
      s.report = await send(text, replace, true);
      s.checked = { text, replace };
      s.state = "";
    } catch (err) {
      s.state = "xfer.checkfirst";
      s.error = { err };
    }
    draw();
  }

  async function apply() {
    if (!s.checked) return;
    const { text, replace } = s.checked;
    s.checked = null;
    s.state = "xfer.applying";
    draw();
    try {
      s.report = await send(text, replace, false);
      s.state = "";
      toast(t("toast.imported"));
    } catch (err) {
      s.state = "";
      // The server stops at the first failure: what came before it stays,
      // and the problem lists it.
      s.error = { err, note: t("xfer.partial") };
      s.report = err.problem?.done?.length ? { dry_run: false, items: err.problem.done } : null;
    }
    draw();
  }

  function draw() {
    if (!tags) return;
    const ex = s.exported;
    const secrets = ex?.data?.secrets || [];
    view.paint(html`
      <div class="head"><h1>${t(can("admin") ? "xfer.title" : "xfer.exporttitle")}</h1><a class="button" href="#/jobs">${t("xfer.back")}</a></div>
      <section class="card" id="export"><h2>${t("xfer.export")}</h2>
        <p class="muted">${t("xfer.exportexplain")}</p>
        <form id="export-form" class="toolbar" @submit=${exportJobs}>
          <select id="x-tag" aria-label=${t("jobs.tag")}><option value="">${t("xfer.alljobs")}</option>${tags.map((x) => html`<option value=${x}>${t("bulk.tag", { tag: x })}</option>`)}</select>
          <button class="primary" type="submit">${t("xfer.download")}</button>
        </form>
        <div id="export-result" role="status">${ex?.err
          ? html`<div class="error-box" role="alert">${problemBox(ex.err)}</div>`
          : ex
            ? html`<p>${t("xfer.exported", { jobs: (ex.data.jobs || []).length, scripts: (ex.data.scripts || []).length, file: ex.name })}</p>
              ${secrets.length ? html`<p class="notice">${t("xfer.secrets", { names: secrets.join(", ") })}</p>` : nothing}`
            : nothing}</div>
      </section>
      <section class="card" id="import"><h2>${t("xfer.import")}</h2>
        ${can("admin")
          ? html`<p class="muted">${t("xfer.importexplain")}</p>
        <form id="import-form" class="fields" @change=${reset}>
          ${field("im-file", t("xfer.file"), html`<input id="im-file" type="file" accept=".json,application/json">`)}
          ${field("im-replace", t("xfer.replace"), check("im-replace", false), t("xfer.replacehint"))}
        </form>
        <div class="form-actions"><button class="primary" id="im-check" type="button" @click=${checkFile}>${t("xfer.check")}</button>
          <button id="im-apply" type="button" ?disabled=${!s.checked} @click=${apply}>${t("xfer.apply")}</button> <span id="im-state" class="muted" role="status">${s.state ? t(s.state) : ""}</span></div>
        <div id="im-error" class="error-box" role="alert" ?hidden=${!s.error}>${s.error ? problemBox(s.error.err, s.error.note) : nothing}</div>
        <div id="im-report" aria-live="polite">${s.report ? importReport(s.report) : nothing}</div>`
          : html`<p class="muted" id="im-adminonly">${t("xfer.adminonly")}</p>`}
      </section>`);
  }
  return { load, redraw: draw };
}
