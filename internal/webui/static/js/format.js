// Formatting of times, durations and numbers, in the page's language.
import { t, lang } from "../i18n.js";

const locale = () => (lang() === "zh" ? "zh-CN" : "en-GB");

// fmtTime shows an instant in the viewer's time zone, or in zone when
// given (an IANA name such as Europe/Berlin).
export function fmtTime(s, zone) {
  if (!s) return "–";
  const opts = { dateStyle: "medium", timeStyle: "medium" };
  if (zone) opts.timeZone = zone;
  try {
    return new Date(s).toLocaleString(locale(), opts);
  } catch {
    // A zone this browser does not know: the viewer's.
    return new Date(s).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "medium" });
  }
}

// fmtDur shows a duration in milliseconds, rounded to what reads well.
export function fmtDur(ms) {
  if (ms == null || isNaN(ms)) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 3600000) return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  return Math.floor(ms / 3600000) + " h " + Math.round((ms % 3600000) / 60000) + " min";
}

// runMs is how long a run took, or null when it has not started and ended.
export function runMs(r) {
  return r.started_at && r.ended_at ? new Date(r.ended_at) - new Date(r.started_at) : null;
}

// fromNow says how far an instant is from now: "in 5 min", "3 h ago".
export function fromNow(s) {
  if (!s) return "–";
  const sec = Math.round((new Date(s) - Date.now()) / 1000);
  const abs = Math.abs(sec);
  const [n, unit] = abs < 60 ? [abs, "s"] : abs < 3600 ? [Math.round(abs / 60), "m"] : abs < 86400 ? [Math.round(abs / 3600), "h"] : [Math.round(abs / 86400), "d"];
  return t(sec >= 0 ? "time.in" : "time.ago", { n, unit: t("unit." + unit) });
}

// ago is fromNow for a past instant that another clock wrote: one a
// moment ahead of this browser's reads "0 s ago", not "in 0 s".
export function ago(s) {
  return s ? fromNow(new Date(Math.min(new Date(s).getTime(), Date.now())).toISOString()) : fromNow(s);
}

// pretty lays a value out as indented JSON (a string stays as it is).
export function pretty(v) {
  if (v == null) return "";
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

// fmtCount writes a whole number with the language's digit grouping.
export const fmtCount = (n) => Number(n || 0).toLocaleString(locale());

// niceCeil rounds n up to 1, 2, 4, 5, 6 or 8 times a power of ten: the
// top of a chart's axis, whose half is as round.
export function niceCeil(n) {
  if (!(n > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 4, 5, 6, 8, 10]) if (m * p >= n - 1e-9 * p) return m * p;
  return 10 * p;
}

// niceDurationCeil rounds a duration in milliseconds up to a value that
// reads well in its unit: 912.4 ms → 1 s, 47 s → 50 s, 7.5 min → 10 min.
export function niceDurationCeil(ms) {
  if (!(ms > 0)) return 1000;
  for (const unit of [3600000, 60000, 1000]) if (ms >= unit) return niceCeil(ms / unit) * unit;
  return niceCeil(ms);
}

// fmtAxisMs labels a chart axis in milliseconds with a unit: "500 ms",
// "2 s", "1.5 min", "2 h".
export function fmtAxisMs(ms) {
  const round = (v) => String(Math.round(v * 10) / 10);
  if (ms < 1000) return round(ms) + " ms";
  if (ms < 60000) return round(ms / 1000) + " s";
  if (ms < 3600000) return round(ms / 60000) + " min";
  return round(ms / 3600000) + " h";
}

// localInput renders an instant for a datetime-local input.
export function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
