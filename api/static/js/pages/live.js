// The page's live connection: LearnPulse.Live (learnpulse.js) authenticated from the browser session,
// and the connected / reconnecting / offline indicator in the header.
import { CSRF, sessionEnded } from "./util.js";

const WORDS = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  refused: "Offline",
  closed: "Offline",
  offline: "Offline",
};

function showStatus(status, detail) {
  const el = document.getElementById("live-indicator");
  if (!el) return;
  const state = navigator.onLine === false ? "offline" : status;
  el.dataset.state = state;
  const idle = state === "refused" && detail && detail.code === 4404;  // e.g. an educator with no sections yet
  el.querySelector(".live-text").textContent = idle ? "Nothing live yet" : WORDS[state] || state;
  const why = detail && (detail.reason || detail.why);
  el.title = state === "open" ? "Updates arrive as they happen" : why ? `Live updates paused: ${why}` : "";
}

let current = null;

// Where the live socket opens: the page's own origin, or the dashboards tier named by LIVE_SOCKET_URL.
const LIVE_URL = document.querySelector('meta[name="live-socket-url"]')?.content || undefined;

// The session cookie is HttpOnly: ask the server for a short-lived token for the socket's auth message.
async function fetchToken() {
  const response = await fetch("/session/ws-token", {
    method: "POST", headers: { "X-CSRF-Token": CSRF, Accept: "application/json" }, credentials: "same-origin",
  });
  if (response.status === 401) {
    sessionEnded();
    if (current) current.close();  // no point retrying until the user signs in again
  }
  if (!response.ok) throw new Error(`token refused (${response.status})`);
  return response.json();
}

// Connect to `path` (default /ws/dashboard/), re-authenticating the open socket before each token expires.
export function connectLive({ path = "/ws/dashboard/", channels = [], onMessage, onResync, onOpen }) {
  let refreshTimer = null;
  let live = null;
  const scheduleRefresh = (seconds) => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      try {
        const fresh = await fetchToken();
        live.send({ type: "auth", token: fresh.token });
        scheduleRefresh(fresh.expires_in);
      } catch (error) {
        scheduleRefresh(30);
      }
    }, Math.max(10, seconds - 60) * 1000);
  };
  live = new window.LearnPulse.Live({
    url: LIVE_URL,
    path,
    channels,
    getToken: async () => {
      const answer = await fetchToken();
      scheduleRefresh(answer.expires_in);
      return answer.token;
    },
    onStatus: (status, detail) => {
      showStatus(status, detail);
      if (status === "open" && onOpen) onOpen();
    },
    onMessage: (message) => onMessage && onMessage(message),
    onResync: (channel) => onResync && onResync(channel),
  });
  window.addEventListener("offline", () => showStatus("offline"));
  window.addEventListener("online", () => showStatus(live.status));
  window.addEventListener("pagehide", () => live.close());
  current = live;
  window.lpLive = live;  // for debugging from the console and for the browser tests
  return live;
}
