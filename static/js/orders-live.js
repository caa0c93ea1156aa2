// Live order status on /trading/orders/: the socket (/ws/trading/) pushes each change of the
// signed-in client's own orders; a row updates its status and filled quantity in place. A new
// order (from another tab) or a closed one that should lose its cancel button reloads the page.
// Without JavaScript or WebSockets the page is complete as served: reload to refresh.
(function () {
  "use strict";
  var labelsNode = document.getElementById("order-status-labels");
  if (!labelsNode || !("WebSocket" in window)) return;
  var labels = JSON.parse(labelsNode.textContent);
  var open = { accepted: true, partly_filled: true };
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var retry = 1000;

  function apply(order) {
    var row = document.querySelector('[data-order-id="' + order.id + '"]');
    if (!row) {
      window.location.reload();
      return;
    }
    var wasOpen = open[row.getAttribute("data-status")] === true;
    row.setAttribute("data-status", order.status);
    row.querySelector('[data-field="status"]').textContent = labels[order.status] || order.status;
    row.querySelector('[data-field="filled"]').textContent = order.filled_quantity;
    if (wasOpen && !open[order.status]) {
      var form = row.querySelector("form");
      if (form) form.remove();
    }
  }

  function connect() {
    var socket = new WebSocket(scheme + window.location.host + "/ws/trading/");
    socket.onopen = function () {
      retry = 1000;
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "order") apply(data);
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4404) return; // signed out, or no account
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  connect();
})();
