// Who is logged in, and the server's vocabulary (GET /meta): roles and
// what each includes, run statuses and which have not ended, notification
// formats, the server's tasks. The UI keeps no copies of these.
import { api, get } from "./api.js";

export const session = {
  me: null, // the logged-in token: {name, role}
  meta: null, // GET /meta
};

// loadSession reads who is logged in and the server's vocabulary.
export async function loadSession() {
  const [me, meta] = await Promise.all([api("GET", "/whoami").then((r) => r.data), get("/meta")]);
  session.me = me;
  session.meta = meta;
}

// forget drops the session (logged out, or a login page shown).
export function forget() {
  session.me = null;
}

// can reports whether the logged-in token's role includes role.
export function can(role) {
  const mine = session.meta?.roles?.find((r) => r.name === session.me?.role);
  return !!mine?.includes?.includes(role);
}

// roles are the token roles, as the server lists them.
export const roles = () => (session.meta?.roles || []).map((r) => r.name);

// statuses are the run statuses, as the server lists them.
export const statuses = () => (session.meta?.run_statuses || []).map((s) => s.name);

// activeStatuses are the statuses of runs that have not ended yet.
export const activeStatuses = () => (session.meta?.run_statuses || []).filter((s) => s.active).map((s) => s.name);

// isActive reports whether a run in status has not ended yet.
export const isActive = (status) => activeStatuses().includes(status);

// notificationFormats are the webhook formats of notifications.
export const notificationFormats = () => session.meta?.notification_formats || ["json"];
