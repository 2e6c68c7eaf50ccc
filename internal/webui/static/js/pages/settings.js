// Settings (admin): API tokens and sealed secrets.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, get } from "../api.js";
import { fmtTime, fromNow } from "../format.js";
import { roles } from "../session.js";
import { select, val, toast, showError } from "../ui.js";

export function settingsPage(view) {
  let d = null;
  let shown = null; // a token's secret, shown once

  async function load() {
    const [tokens, secrets] = await Promise.all([get("/tokens"), get("/secrets")]);
    d = { tokens: tokens.tokens, secrets: secrets.secrets };
    draw();
  }

  // act runs a change and reloads the page in place.
  const act = (f) => async (e) => {
    e?.preventDefault?.();
    try {
      await f();
      await load();
    } catch (err) {
      showError(err);
    }
  };

  const createToken = act(async () => {
    const { data } = await api("POST", "/tokens", { name: val("nt-name"), role: val("nt-role") });
    shown = data.token;
    document.getElementById("nt-name").value = "";
  });
  const setSecret = act(async () => {
    await api("PUT", "/secrets/" + encodeURIComponent(val("ss-name")), { value: document.getElementById("ss-value").value });
    toast(t("settings.secretset", { name: val("ss-name") }));
    document.getElementById("ss-value").value = "";
  });
  const deleteSecret = (name) =>
    act(async () => {
      if (!confirm(t("confirm.secret", { name }))) return;
      await api("DELETE", "/secrets/" + encodeURIComponent(name));
    });
  const revoke = (id) =>
    act(async () => {
      if (!confirm(t("confirm.revoke"))) return;
      await api("DELETE", "/tokens/" + encodeURIComponent(id));
    });
  const rotate = (id) =>
    act(async () => {
      const { data } = await api("POST", `/tokens/${encodeURIComponent(id)}/rotate`);
      shown = data.token;
    });

  function draw() {
    if (!d) return;
    view.paint(html`
      <h1>${t("nav.settings")}</h1>
      <section class="card"><h2>${t("settings.tokens")}</h2>
        <form id="new-token" class="toolbar" @submit=${createToken}>
          <input id="nt-name" required placeholder=${t("settings.tokenname")} aria-label=${t("settings.tokenname")}>
          ${select("nt-role", roles().map((r) => [r, t("role." + r)]), "viewer", { label: t("col.role") })}
          <button class="primary">${t("settings.createtoken")}</button></form>
        <div id="new-secret">${shown ? html`<div class="notice" role="alert"><p>${t("settings.showonce")}</p><code class="secret">${shown}</code></div>` : nothing}</div>
        <div class="table-wrap"><table class="list"><thead><tr><th>${t("col.name")}</th><th>${t("col.role")}</th><th>${t("col.created")}</th><th>${t("col.lastused")}</th><th>${t("col.state")}</th><th></th></tr></thead>
        <tbody>${d.tokens.map(
          (x) => html`<tr><td>${x.name} <code class="muted">${x.id}</code></td><td>${t("role." + x.role)}</td><td>${fmtTime(x.created_at)}</td><td>${x.last_used_at ? fromNow(x.last_used_at) : "–"}</td>
          <td>${x.revoked_at ? t("settings.revoked") : t("state.active")}</td><td>${x.revoked_at
            ? nothing
            : html`<button data-token="rotate" data-id=${x.id} @click=${rotate(x.id)}>${t("settings.rotate")}</button> <button class="danger" data-token="revoke" data-id=${x.id} @click=${revoke(x.id)}>${t("settings.revoke")}</button>`}</td></tr>`,
        )}</tbody></table></div>
      </section>
      <section class="card"><h2>${t("settings.secrets")}</h2>
        <form id="set-secret" class="toolbar" @submit=${setSecret}>
          <input id="ss-name" required placeholder=${t("ph.example", { v: "DB_PASSWORD" })} aria-label=${t("col.name")} pattern="[A-Z_][A-Z0-9_]*">
          <input id="ss-value" required type="password" autocomplete="new-password" placeholder=${t("settings.value")} aria-label=${t("settings.value")}>
          <button class="primary">${t("settings.setsecret")}</button></form>
        <div class="table-wrap"><table class="list"><thead><tr><th>${t("col.name")}</th><th>${t("col.updated")}</th><th>${t("col.by")}</th><th></th></tr></thead>
        <tbody>${d.secrets.length
          ? d.secrets.map((x) => html`<tr><td><code>${x.name}</code></td><td>${fmtTime(x.updated_at)}</td><td>${x.updated_by}</td><td><button class="danger" data-secret=${x.name} @click=${deleteSecret(x.name)}>${t("action.delete")}</button></td></tr>`)
          : html`<tr><td colspan="4" class="muted">${t("settings.nosecrets")}</td></tr>`}</tbody></table></div>
      </section>`);
  }
  return { load, redraw: draw };
}
