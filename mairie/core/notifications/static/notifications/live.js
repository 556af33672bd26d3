// Live notifications: keeps the unread badge of the menu up to date and announces new
// notifications to screen readers, from the server's pushes on the /ws/ websocket.
// Pages work without it; it only refreshes what the server already rendered.

const script = document.querySelector("script[data-notifications-live]");

function unreadLink(listUrl) {
  // The menu's link to the inbox (not a skip link to "#contenu" on the inbox page itself).
  return Array.from(document.querySelectorAll("nav a[href]")).find(
    (a) => a.getAttribute("href") === listUrl,
  );
}

function setBadge(count) {
  const link = unreadLink(script.dataset.listUrl);
  if (!link) return;
  let badge = link.querySelector(".badge");
  if (count <= 0) {
    if (badge) badge.remove();
    return;
  }
  if (!badge) {
    badge = document.createElement("span");
    badge.className = "badge";
    link.append(" ", badge);
  }
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = ` ${script.dataset.labelUnread}`;
  badge.replaceChildren(String(count), hidden);
}

function liveRegion() {
  const region = document.createElement("div");
  region.className = "visually-hidden";
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-atomic", "true");
  document.body.prepend(region);
  return region;
}

function connect(region, attempt = 0) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${script.dataset.socketPath}`);
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    document.documentElement.dataset.notificationsLive = "connected";
  });
  socket.addEventListener("message", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (typeof data.unread_count === "number") setBadge(data.unread_count);
    if (data.type === "notification") {
      // Emptying first makes screen readers announce two identical titles in a row.
      region.textContent = "";
      window.setTimeout(() => {
        region.textContent = `${script.dataset.labelNew} ${data.title}`;
      }, 100);
    }
  });
  socket.addEventListener("close", () => {
    delete document.documentElement.dataset.notificationsLive;
    // Back off (1 s, 2 s, 4 s… up to 1 min); give up after repeated refusals (logged out).
    const next = opened ? 0 : attempt + 1;
    if (next > 8) return;
    window.setTimeout(() => connect(region, next), Math.min(60000, 1000 * 2 ** next));
  });
}

if (script && "WebSocket" in window) {
  connect(liveRegion());
}
