// The risk board is live: the server says when alerts change (/ws/monitoring/board/) and the
// page reloads, at most every 2 seconds and never while the officer is selecting text. While
// the socket is down the page polls every 10 seconds instead.
(function () {
  "use strict";
  var socket = null;
  var pending = false;
  var last = Date.now();

  function quiet() {
    var selection = window.getSelection && String(window.getSelection());
    return !selection && document.visibilityState === "visible";
  }

  function reloadSoon() {
    if (pending) return;
    pending = true;
    var wait = Math.max(0, 2000 - (Date.now() - last));
    setTimeout(function () {
      if (quiet()) window.location.reload();
      pending = false;
    }, wait);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/monitoring/board/");
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "changed") reloadSoon();
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code !== 4403) setTimeout(connect, 5000);
    };
  }

  connect();
  setInterval(function () {
    if ((!socket || socket.readyState !== WebSocket.OPEN) && quiet()) window.location.reload();
  }, 10000);
})();
