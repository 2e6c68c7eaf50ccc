// Live updates: the server says something changed (GET /api/v1/events);
// the page shown refetches and updates in place. A burst of events is one
// refresh, and a stream of events that never stops still refreshes every
// couple of seconds (a throttle: a debounce would wait for a quiet moment
// that may never come). Pages also refresh every 15 seconds, for changes
// made on other nodes. The reader can pause all of it; the choice is kept
// in localStorage.
import { apiURL } from "./api.js";

const FIRST_WAIT = 400; // ms after the first event of a burst
const MIN_GAP = 2000; // ms between two refreshes while events keep coming
const POLL = 15000; // ms

const KEY = "sundial-live";

// throttle returns a function that calls fn at most once every gap ms,
// and at the latest gap ms after it was first asked (first after first
// ms): calls coming continuously still run fn regularly. fn may return a
// promise; a call asked for while it runs comes after it.
export function throttle(fn, first = FIRST_WAIT, gap = MIN_GAP) {
  let timer = null, last = -Infinity, running = false, again = false;
  const fire = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } catch {
      // A refresh that failed is retried by the next one.
    } finally {
      running = false;
      if (again) {
        again = false;
        ask();
      }
    }
  };
  const ask = () => {
    if (timer) return; // one is coming
    timer = setTimeout(fire, Math.max(first, last + gap - Date.now()));
  };
  ask.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return ask;
}

// Live drives the live updates of the page.
export class Live {
  // refresh refetches what the page shows; onEvent hears each event's
  // data ({kind, …}) and onTick each poll; onChange hears that live
  // updates were paused or resumed.
  constructor({ refresh, onEvent, onTick, onChange }) {
    this.refreshNow = refresh;
    this.onEvent = onEvent;
    this.onTick = onTick;
    this.onChange = onChange;
    this.paused = localStorage.getItem(KEY) === "paused";
    this.events = null;
    this.poll = null;
    this.soon = throttle(() => this.refreshNow());
  }

  // start opens the event stream and the poll, unless paused.
  start() {
    if (this.paused || this.events) return;
    this.events = new EventSource(apiURL("/events"));
    this.events.addEventListener("change", (e) => {
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch {
        // An event is a hint to refresh whatever it says.
      }
      this.onEvent?.(data);
      this.soon();
    });
    this.poll = setInterval(() => {
      this.onTick?.();
      this.soon();
    }, POLL);
  }

  // stop closes the stream and the poll (logged out, or paused).
  stop() {
    this.events?.close();
    this.events = null;
    clearInterval(this.poll);
    this.poll = null;
    this.soon.cancel();
  }

  // setPaused pauses or resumes live updates; resuming refreshes at once.
  setPaused(paused) {
    this.paused = paused;
    if (paused) {
      localStorage.setItem(KEY, "paused");
      this.stop();
    } else {
      localStorage.removeItem(KEY);
      this.start();
      this.onTick?.();
      this.soon();
    }
    this.onChange?.(paused);
  }
}
