/* Live in-app notices: keeps the bell's unread count current and shows a toast for each new
   notice. No inline script anywhere (strict CSP); this file is loaded by base.html. */
(function () {
  "use strict";

  var CLOSE_UNAUTHENTICATED = 4401;
  var TOAST_MS = 8000;
  var MAX_DELAY_MS = 30000;

  function setUnread(count) {
    var badge = document.getElementById("notice-unread");
    if (!badge || typeof count !== "number") return;
    badge.textContent = String(count);
    badge.setAttribute("data-count", String(count));
    badge.classList.toggle("badge-empty", count === 0);
    var others = document.querySelectorAll("[data-unread-count]");
    for (var i = 0; i < others.length; i++) others[i].textContent = String(count);
  }

  // The bell says whether live updates are on: data-live="connected" once the socket is open
  // (the server joins the user's group before accepting, so pushes from then on arrive).
  function setLive(state) {
    var bell = document.getElementById("notice-bell");
    if (bell) bell.setAttribute("data-live", state);
  }

  function showToast(title, body) {
    var region = document.getElementById("toast-region");
    if (!region) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "status");
    var heading = document.createElement("strong");
    heading.textContent = title || "";
    var text = document.createElement("span");
    text.textContent = body || "";
    toast.appendChild(heading);
    toast.appendChild(text);
    region.appendChild(toast);
    window.setTimeout(function () {
      if (toast.parentNode) toast.parentNode.removeChild(toast);
    }, TOAST_MS);
  }

  function handle(message) {
    var data;
    try {
      data = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    if (!data || typeof data !== "object") return;
    if (data.type === "notice") {
      setUnread(data.unread);
      showToast(data.title, data.body);
    } else if (data.type === "unread") {
      setUnread(data.unread);
    }
  }

  function start() {
    if (!document.getElementById("notice-bell")) return;
    if (document.body.getAttribute("data-authenticated") !== "true") return;
    if (!("WebSocket" in window)) return;

    var scheme = window.location.protocol === "https:" ? "wss" : "ws";
    var url = scheme + "://" + window.location.host + "/ws/notices/";
    var delay = 1000;

    function connect() {
      var socket = new WebSocket(url);
      socket.addEventListener("open", function () {
        delay = 1000;
        setLive("connected");
      });
      socket.addEventListener("message", handle);
      socket.addEventListener("close", function (event) {
        setLive("disconnected");
        if (event.code === CLOSE_UNAUTHENTICATED) return; // signed out: do not knock again
        // Back off, with jitter so a restarted server is not hit by every tab at once.
        var wait = delay + Math.floor(Math.random() * 500);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        window.setTimeout(connect, wait);
      });
    }

    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
