// The login page: an API token, or single sign-on when the server has an
// OpenID Connect provider. The API opens a session and sets its cookies;
// the token itself is never kept by the browser.
import { html, nothing } from "../lit.js";
import { t } from "../../i18n.js";
import { api, apiURL } from "../api.js";
import { tx } from "../ui.js";

export function loginPage(view, { onLogin }) {
  const failed = new URLSearchParams(location.search).has("error");
  const state = { sso: false, error: "" };
  const draw = () =>
    view.paint(html`
      <section class="login card">
        <h1>${t("login.title")}</h1>
        <p class="muted" id="login-help">${tx("login.help", { cmd: html`<code>sundial token create</code>` })}</p>
        ${failed ? html`<div class="error-box" role="alert">${t("login.failed")}</div>` : nothing}
        <div id="login-error" class="error-box" role="alert" ?hidden=${!state.error}>${state.error}</div>
        <form id="login" method="post" action=${apiURL("/session")} @submit=${submit}>
          <label for="token">${t("login.token")}</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus placeholder="sdl_…">
          <button class="primary" type="submit">${t("login.submit")}</button>
        </form>
        <p id="login-sso" ?hidden=${!state.sso}><a class="button" href=${apiURL("/oidc/login")}>${t("login.sso")}</a></p>
      </section>`);
  async function submit(e) {
    e.preventDefault();
    try {
      await api("POST", "/session", { token: document.getElementById("token").value });
      await onLogin();
    } catch (err) {
      state.error = err.status === 401 ? t("login.failed") : err.message;
      draw();
    }
  }
  async function load() {
    draw();
    // Single sign-on, when the server has an OpenID Connect provider: a
    // plain navigation, so that the provider's pages open in this tab.
    try {
      const { data } = await api("GET", "/session/methods");
      state.sso = !!data?.oidc;
      draw();
    } catch {
      // No methods: the token form alone.
    }
  }
  return { load, redraw: draw };
}
