// Holiday calendars: the list, and a calendar's page, where its days are
// typed or read from an .ics file (the server reads the file and stores
// nothing until Save).
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, get } from "../api.js";
import { can } from "../session.js";
import { field, text, area, val, ask, toast, showError, jobHref, $, $$ } from "../ui.js";

const calendarHref = (name) => "#/calendars/" + encodeURIComponent(name);

// Days are edited one per line: "2026-10-01 National Day".
const daysText = (days) => (days || []).map((d) => d.date + (d.name ? " " + d.name : "")).join("\n");
function daysOf(id, what) {
  return val(id)
    .split("\n")
    .map((x) => x.trim())
    .filter(Boolean)
    .map((line) => {
      const m = line.match(/^(\d{4}-\d{2}-\d{2})(?:\s+(.*))?$/);
      if (!m) throw new Error(t("calendar.badline", { what, line }));
      return m[2] ? { date: m[1], name: m[2] } : { date: m[1] };
    });
}

export function calendarsPage(view) {
  let calendars = null;
  async function load() {
    calendars = (await get("/calendars")).calendars;
    draw();
  }
  const span = (c) => {
    const dates = [...(c.holidays || []), ...(c.working_days || [])].map((d) => d.date).sort();
    return dates.length ? `${dates[0]} … ${dates[dates.length - 1]}` : "–";
  };
  function draw() {
    if (!calendars) return;
    view.paint(html`
      <div class="head"><h1>${t("nav.calendars")}</h1>${can("admin") ? html`<div class="actions"><a class="button primary" href="#/new-calendar" id="cal-new">${t("calendar.new")}</a></div>` : nothing}</div>
      <p class="muted">${t("calendar.explain")}</p>
      <div class="table-wrap"><table class="list"><thead><tr><th>${t("field.name")}</th><th>${t("calendar.holidays")}</th><th>${t("calendar.workingdays")}</th><th>${t("calendar.span")}</th><th>${t("field.description")}</th></tr></thead>
      <tbody>${calendars.length
        ? calendars.map((c) => html`<tr><td><a href=${calendarHref(c.name)}>${c.name}</a></td><td>${(c.holidays || []).length}</td><td>${(c.working_days || []).length}</td><td>${span(c)}</td><td>${c.description || ""}</td></tr>`)
        : html`<tr><td colspan="5" class="muted">${t("calendar.none")}</td></tr>`}</tbody></table></div>`);
  }
  return { load, refresh: load, redraw: draw };
}

// calendarPage edits one calendar, or makes a new one when name is empty.
export function calendarPage(view, name) {
  let c = null;
  let skipped = [];

  async function load() {
    c = name ? await get("/calendars/" + encodeURIComponent(name)) : { name: "", holidays: [], working_days: [], jobs: [] };
    draw();
  }

  async function readICS(e) {
    const file = e.target.files[0];
    if (!file) return;
    try {
      const { data } = await api("POST", "/calendars/ics", { ics: await file.text() });
      $("#cal-holidays").value = daysText(data.holidays);
      $("#cal-working").value = daysText(data.working_days);
      skipped = data.skipped;
      draw();
      toast(t("toast.icsread", { holidays: data.holidays.length, working: data.working_days.length }));
    } catch (err) {
      showError(err);
    }
  }

  async function remove() {
    if ((await ask(t("calendar.confirmdelete", { name }), [], [["delete", t("action.delete"), "danger"], ["", t("action.cancel")]])) !== "delete") return;
    try {
      await api("DELETE", "/calendars/" + encodeURIComponent(name));
      toast(t("toast.deleted", { id: name }));
      location.hash = "#/calendars";
    } catch (err) {
      showError(err);
    }
  }

  async function submit(e) {
    e.preventDefault();
    $$(".ferr", $("#calendar")).forEach((x) => (x.textContent = ""));
    let doc;
    try {
      doc = { description: val("cal-desc"), holidays: daysOf("cal-holidays", t("calendar.holidays")), working_days: daysOf("cal-working", t("calendar.workingdays")) };
    } catch (err) {
      $("#form-error").textContent = err.message;
      return;
    }
    const target = name || val("cal-name");
    try {
      // A new calendar is created, never put over one of the same name.
      if (name) await api("PUT", "/calendars/" + encodeURIComponent(target), doc, { "If-Match": `"${c.version}"` });
      else await api("POST", "/calendars", { ...doc, name: target });
      toast(t("toast.saved", { id: target }));
      if (name) await load();
      else location.hash = calendarHref(target);
    } catch (err) {
      const map = { name: "cal-name", description: "cal-desc" };
      const f = err.problem?.field || "";
      const id = map[f] || (f.startsWith("holidays") ? "cal-holidays" : f.startsWith("working_days") ? "cal-working" : "");
      if (id) $("#err-" + id).textContent = err.message;
      else $("#form-error").textContent = err.message;
    }
  }

  function draw() {
    if (!c) return;
    const ro = !can("admin");
    view.paint(html`
      <h1>${name ? t("calendar.title", { name }) : t("calendar.new")}</h1>
      <form id="calendar" class="editor" novalidate @submit=${submit}><section class="card"><div class="fields">
        ${field("cal-name", t("field.name"), text("cal-name", c.name, name ? { readonly: true } : { required: true, placeholder: t("ph.example", { v: "cn" }) }))}
        ${field("cal-desc", t("field.description"), text("cal-desc", c.description, { readonly: ro }))}
        ${field("cal-holidays", t("calendar.holidays"), area("cal-holidays", daysText(c.holidays), 10, { readonly: ro }), t("hint.days"))}
        ${field("cal-working", t("calendar.workingdays"), area("cal-working", daysText(c.working_days), 4, { readonly: ro }), t("hint.workingdays"))}
        ${can("admin") ? field("cal-ics", t("calendar.ics"), html`<input id="cal-ics" type="file" accept=".ics,text/calendar" @change=${readICS}>`, t("hint.ics")) : nothing}
      </div><div id="cal-skipped" class="muted" aria-live="polite">${skipped.length ? html`<p>${t("calendar.skipped", { n: skipped.length })}</p><ul>${skipped.map((x) => html`<li>${x}</li>`)}</ul>` : nothing}</div></section>
      ${name ? html`<p>${t("calendar.jobs")} ${(c.jobs || []).length ? c.jobs.map((j, i) => html`${i ? ", " : ""}<a href=${jobHref(j)}>${j}</a>`) : t("calendar.nojobs")}</p>` : nothing}
      ${can("admin")
        ? html`<div class="form-actions"><button class="primary" type="submit">${t("action.save")}</button> ${name ? html`<button type="button" class="danger" id="cal-delete" @click=${remove}>${t("action.delete")}</button>` : nothing} <a class="button" href="#/calendars">${t("action.cancel")}</a> <span id="form-error" class="ferr" role="alert"></span></div>`
        : nothing}
      </form>`);
  }
  // A viewer's page follows changes; an admin's form is left alone.
  return { load, refresh: can("admin") ? undefined : load, redraw: draw };
}
