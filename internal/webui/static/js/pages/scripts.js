// Scripts: the list, with a form to start a new one, and a script's page:
// its source in an editor (CodeMirror), a test run, its versions, a diff
// of two, a rollback. Refreshes of the list leave the form alone.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, get } from "../api.js";
import { fmtTime, fmtDur, pretty } from "../format.js";
import { can } from "../session.js";
import { badge, select, toast, showError, val } from "../ui.js";

const scriptHref = (name) => "#/scripts/" + encodeURIComponent(name);

export function scriptsPage(view) {
  let scripts = null;
  async function load() {
    scripts = (await get("/scripts")).scripts;
    draw();
  }
  function create(e) {
    e.preventDefault();
    sessionStorage.setItem("new-script-lang", val("ns-lang"));
    location.hash = scriptHref(val("ns-name"));
  }
  function draw() {
    if (!scripts) return;
    view.paint(html`
      <h1>${t("nav.scripts")}</h1>
      ${can("admin")
        ? html`<form id="new-script" class="toolbar card" @submit=${create}>
        <input id="ns-name" required placeholder=${t("scripts.name")} aria-label=${t("scripts.name")} pattern="[A-Za-z0-9][A-Za-z0-9._-]*">
        ${select("ns-lang", [["python", "Python"], ["sh", "sh"], ["bash", "bash"], ["node", "node"]], "python", { label: t("col.lang") })}
        <button class="primary">${t("scripts.new")}</button></form>`
        : nothing}
      <div class="table-wrap"><table class="list" id="scripts"><thead><tr><th>${t("col.script")}</th><th>${t("col.lang")}</th><th>${t("col.latest")}</th><th>${t("col.pushed")}</th><th>${t("col.by")}</th></tr></thead>
      <tbody>${scripts.length
        ? scripts.map((s) => html`<tr><td><a href=${scriptHref(s.name)}>${s.name}</a></td><td>${s.lang}</td><td>${s.version}</td><td>${fmtTime(s.created_at)}</td><td>${s.author}</td></tr>`)
        : html`<tr><td colspan="5" class="muted">${t("scripts.none")}</td></tr>`}</tbody></table></div>`);
  }
  return { load, refresh: load, redraw: draw };
}

const starter = {
  python: "def run(**kwargs):\n    print('hello from sundial', kwargs)\n    return {'ok': True}\n",
  sh: '#!/bin/sh\necho "hello from sundial: $*"\n',
  bash: '#!/bin/bash\necho "hello from sundial: $*"\n',
  node: "console.log('hello from sundial', process.argv.slice(2));\n",
};
const cmMode = { python: "python", sh: "shell", bash: "shell", node: "javascript" };
const cmTheme = () => (document.documentElement.dataset.theme === "dark" ? "sundial-dark" : "default");

export function scriptPage(view, name) {
  let d = null; // {latest, versions, lang}
  let cm = null;
  const s = { saveError: "", test: null, diff: null };

  async function load() {
    let latest = null, versions = [];
    try {
      latest = await get("/scripts/" + encodeURIComponent(name));
      versions = (await get(`/scripts/${encodeURIComponent(name)}/versions`)).versions;
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    d = { latest, versions, lang: latest?.lang || sessionStorage.getItem("new-script-lang") || "python" };
    draw();
    if (!cm && view.alive) {
      cm = window.CodeMirror(document.getElementById("editor-box"), {
        value: latest?.source || starter[d.lang],
        mode: cmMode[d.lang],
        lineNumbers: true,
        indentUnit: 4,
        readOnly: !can("admin"),
        extraKeys: { Tab: false, "Shift-Tab": false }, // Tab leaves the editor: keyboard users are not trapped
        theme: cmTheme(),
      });
      cm.getWrapperElement().setAttribute("aria-label", t("scripts.source"));
    } else if (cm && latest && cm.getValue() !== latest.source) {
      cm.setValue(latest.source); // a rollback
    }
  }

  async function save() {
    try {
      const { data } = await api("POST", "/scripts", { name, lang: d.lang, source: cm.getValue() });
      toast(t("scripts.saved", { n: data.version }) + (data.warning ? " — " + data.warning : ""));
      s.saveError = "";
      await load();
    } catch (err) {
      s.saveError = err.message;
      draw();
    }
  }

  async function testRun() {
    s.test = { running: true };
    draw();
    try {
      const kw = val("test-kwargs");
      const kwargs = kw ? JSON.parse(kw) : undefined;
      const { data } = await api("POST", "/scripts/test-run", { lang: d.lang, source: cm.getValue(), kwargs });
      s.test = { data };
    } catch (err) {
      s.test = { error: err.message };
    }
    draw();
  }

  async function compare() {
    const va = document.querySelector('input[name="va"]:checked')?.value, vb = document.querySelector('input[name="vb"]:checked')?.value;
    if (!va || !vb) return;
    try {
      const [a, b] = await Promise.all([get(`/scripts/${encodeURIComponent(name)}/versions/${va}`), get(`/scripts/${encodeURIComponent(name)}/versions/${vb}`)]);
      s.diff = { va, vb, parts: window.Diff.diffLines(a.source, b.source) };
      draw();
    } catch (err) {
      showError(err);
    }
  }

  async function rollback(version) {
    if (!confirm(t("confirm.rollback", { n: version }))) return;
    try {
      const { data } = await api("POST", `/scripts/${encodeURIComponent(name)}/rollback`, { version });
      toast(t("scripts.rolledback", { n: data.version, to: version }));
      await load();
    } catch (err) {
      showError(err);
    }
  }

  function draw() {
    if (!d) return;
    const { latest, versions } = d;
    cm?.setOption("theme", cmTheme());
    const tr = s.test;
    view.paint(html`
      <div class="head"><h1>${name}</h1><span class="muted">${d.lang} · ${latest ? t("scripts.version", { n: latest.version }) : t("scripts.unsaved")}</span></div>
      <section class="card">
        <div id="editor-box" class="code"></div>
        ${can("admin")
          ? html`<div class="form-actions">
          <button class="primary" id="save" @click=${save}>${t("scripts.save")}</button>
          <input id="test-kwargs" placeholder=${t("ph.example", { v: '{"days": 7}' })} aria-label=${t("kind.kwargs")}>
          <button id="test" @click=${testRun}>${t("scripts.test")}</button> <span id="save-msg" role="status" class=${s.saveError ? "ferr" : ""}>${s.saveError}</span></div>`
          : nothing}
        <div id="test-result">${tr?.running
          ? html`<p class="muted">${t("scripts.testing")}</p>`
          : tr?.error
            ? html`<p class="ferr">${tr.error}</p>`
            : tr?.data
              ? html`<h3>${badge(tr.data.status)} ${fmtDur(tr.data.duration_ms)}</h3>
                ${tr.data.result != null ? html`<pre class="json">${pretty(tr.data.result)}</pre>` : nothing}${tr.data.error ? html`<pre class="error">${tr.data.error}</pre>` : nothing}<pre class="output">${tr.data.output || ""}</pre>`
              : nothing}</div>
      </section>
      ${versions.length
        ? html`<section class="card"><h2>${t("scripts.versions")}</h2>
        <div class="table-wrap"><table class="list"><thead><tr><th>A</th><th>B</th><th>${t("col.version")}</th><th>${t("col.pushed")}</th><th>${t("col.by")}</th><th>SHA-256</th><th>${t("col.note")}</th><th></th></tr></thead>
        <tbody>${versions.map(
          (v, i) => html`<tr><td><input type="radio" name="va" .value=${String(v.version)} ?checked=${i === 1} aria-label=${"A " + v.version}></td><td><input type="radio" name="vb" .value=${String(v.version)} ?checked=${i === 0} aria-label=${"B " + v.version}></td>
          <td>${v.version}</td><td>${fmtTime(v.created_at)}</td><td>${v.author}</td><td><code>${v.checksum.slice(0, 12)}</code></td><td>${v.note || ""}</td>
          <td>${can("admin") && i > 0 ? html`<button data-rollback=${v.version} @click=${() => rollback(v.version)}>${t("scripts.rollback")}</button>` : nothing}</td></tr>`,
        )}</tbody></table></div>
        <button id="compare" @click=${compare}>${t("scripts.compare")}</button>
        <div id="diff">${s.diff
          ? html`<p class="muted">${t("scripts.diff", { a: s.diff.va, b: s.diff.vb })}</p><pre class="diff">${s.diff.parts.map(
              (p) => html`<span class=${p.added ? "add" : p.removed ? "del" : ""}>${p.value.replace(/^(?=.)/gm, p.added ? "+ " : p.removed ? "- " : "  ")}</span>`,
            )}</pre>`
          : nothing}</div></section>`
        : nothing}`);
  }
  return { load, redraw: draw };
}
