/* Live margin status: renders the status the socket pushes (/ws/margin/), resyncs after a gap
   or a reconnect (with back-off), and polls /margin/status.json while the socket is down.
   Money arrives as decimal strings and is only formatted here, never computed. */
(function () {
  "use strict";

  var CLOSE_UNAUTHENTICATED = 4401;
  var CLOSE_NO_ACCOUNT = 4404;
  var POLL_MS = 5000;
  var MAX_DELAY_MS = 30000;

  var root = document.getElementById("margin-dashboard");
  if (!root) return;

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var labels = readJson("margin-labels") || {};
  var lang = (document.documentElement.getAttribute("lang") || "zh-hans").toLowerCase();
  var state = { seq: null, epoch: null, status: null, history: readJson("margin-history") || [] };
  var pollTimer = null;

  function field(name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function setText(node, text) {
    if (node && node.textContent !== text) node.textContent = text;
  }

  function percent(value) {
    if (value === null || value === undefined) return "";
    return (Number(value) * 100).toFixed(2) + "%";
  }

  function yuan(value) {
    if (value === null || value === undefined) return "";
    var parts = String(value).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "¥" + whole + "." + ((parts[1] || "") + "00").slice(0, 2);
  }

  function render(status) {
    state.status = status;
    root.setAttribute("data-level", status.level);
    setText(field("ratio"), status.ratio === null ? labels.no_debt : percent(status.ratio));
    var badge = field("level");
    setText(badge, (labels.levels || {})[status.level] || status.level);
    badge.className = "level-badge level-" + status.level;
    ["assets", "cash", "market_value", "collateral_value", "liabilities"].forEach(function (name) {
      if (status[name] !== undefined) setText(field(name), yuan(status[name]));
    });
    ["warning", "call", "liquidation"].forEach(function (line) {
      // The same sentences the page was rendered with (margin.views.distance_sentences).
      var fall = status.distances[line];
      var wording = (labels.distances || {})[line] || {};
      var text = Number(status.liabilities) === 0 ? wording.no_debt
        : fall === null ? wording.none
        : Number(fall) === 0 ? wording.reached : wording.fall;
      setText(root.querySelector('[data-fall="' + line + '"]'), (text || "")
        .replace("%(fall)s", fall === null ? "" : percent(fall))
        .replace("%(line)s", percent(status.lines[line])));
    });
    renderPositions(status.positions);
    renderBanner(status);
    renderRestrictions(status.restrictions || { blocked: [], frozen_reason: "" });
    renderConcentration(status.concentration);
    if (status.ratio !== null) addPoint(status.at, status.ratio);
    drawChart();
    renderLegend(status);
  }

  function cell(row, text, className, label) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    // On a phone each row stacks as "label: value" (portal.css, table.stack).
    if (label) td.setAttribute("data-label", (labels.positions || {})[label] || "");
    row.appendChild(td);
    return td;
  }

  function flag(node, text, className) {
    var span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    node.appendChild(document.createTextNode(" "));
    node.appendChild(span);
  }

  function renderRestrictions(restrictions) {
    var box = document.getElementById("margin-restricted");
    var lines = document.createDocumentFragment();
    (restrictions.blocked || []).forEach(function (kind) {
      var p = document.createElement("p");
      p.textContent = ((labels.blocked || {})[kind] || kind) +
        (kind === "frozen" && restrictions.frozen_reason ? " (" + restrictions.frozen_reason + ")" : "");
      lines.appendChild(p);
    });
    box.replaceChildren(lines);
    box.classList.toggle("hidden", !(restrictions.blocked || []).length);
  }

  function renderConcentration(concentration) {
    if (!concentration) return;
    setText(field("largest"), concentration.largest
      ? concentration.largest + " · " + percent(concentration.largest_share) : "—");
    setText(field("over-limit"), concentration.over.join(", "));
    document.getElementById("margin-over-limit").classList.toggle("hidden", !concentration.over.length);
  }

  function renderPositions(positions) {
    var body = document.getElementById("margin-positions");
    var rows = document.createDocumentFragment();
    positions.forEach(function (p) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-code", p.code);
      if (p.high_risk) tr.className = "high-risk";
      cell(tr, p.code, "", "code");
      var name = cell(tr, lang.indexOf("zh") === 0 ? p.name_zh : p.name_en, "", "name");
      (p.flags || []).forEach(function (code) {
        flag(name, (labels.flags || {})[code] || code, "risk-flag");
      });
      if (p.limit_down) flag(name, labels.limit_down, "limit-flag");
      if (p.no_purchase) flag(name, labels.no_purchase, "limit-flag");
      cell(tr, Number(p.quantity).toLocaleString(), "num", "quantity");
      cell(tr, yuan(p.price), "num", "price").setAttribute("data-testid", "price-" + p.code);
      cell(tr, yuan(p.value), "num", "value");
      var share = cell(tr, p.share === null || p.share === undefined ? "—" : percent(p.share), "num", "share");
      if (p.over_limit) flag(share, labels.over_limit, "limit-flag");
      cell(tr, p.collateral_rate === undefined ? "100.00%" : percent(p.collateral_rate), "num", "collateral");
      cell(tr, p.call_price ? yuan(p.call_price) : "—", "num key-price", "call")
        .setAttribute("data-testid", "call-price-" + p.code);
      cell(tr, p.liquidation_price ? yuan(p.liquidation_price) : "—", "num key-price", "liquidation")
        .setAttribute("data-testid", "liquidation-price-" + p.code);
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
  }

  function renderBanner(status) {
    var banner = document.getElementById("margin-banner");
    var call = status.call;
    banner.classList.toggle("hidden", !call);
    if (!call) return;
    var deadline = new Date(call.deadline);
    var time = field("deadline");
    time.setAttribute("datetime", call.deadline);
    setText(time, deadline.toLocaleString(lang.indexOf("zh") === 0 ? "zh-CN" : "en-GB", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit"
    }));
    if (status.cure) {
      setText(field("cure-deposit"), yuan(status.cure.deposit));
      field("cure-sell-wrap").classList.toggle("hidden", status.cure.sell === null);
      if (status.cure.sell !== null) setText(field("cure-sell"), yuan(status.cure.sell));
    }
    tickCountdown();
  }

  function tickCountdown() {
    var call = state.status && state.status.call;
    if (!call) return;
    var left = Math.floor((new Date(call.deadline).getTime() - Date.now()) / 1000);
    if (left <= 0) {
      setText(field("countdown"), labels.expired);
      return;
    }
    var days = Math.floor(left / 86400);
    var hours = Math.floor((left % 86400) / 3600);
    var minutes = Math.floor((left % 3600) / 60);
    var seconds = left % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    setText(field("countdown"),
      (days ? days + labels.days + " " : "") + two(hours) + ":" + two(minutes) + ":" + two(seconds));
  }

  function addPoint(at, ratio) {
    var last = state.history[state.history.length - 1];
    if (last && last[0] === at) return;
    state.history.push([at, ratio]);
    if (state.history.length > 2000) state.history.shift();
  }

  function renderLegend(status) {
    setText(field("chart-now"), status.ratio === null ? labels.no_debt : percent(status.ratio));
    var ratios = state.history.map(function (p) { return Number(p[1]); });
    setText(field("chart-range"), ratios.length ? (labels.chart_range || "")
      .replace("%(low)s", percent(Math.min.apply(null, ratios)))
      .replace("%(high)s", percent(Math.max.apply(null, ratios))) : "");
  }

  function drawChart() {
    var svg = document.getElementById("margin-chart");
    var status = state.status;
    if (!svg || !status) return;
    var ns = "http://www.w3.org/2000/svg";
    var points = state.history.map(function (p) { return [new Date(p[0]).getTime(), Number(p[1])]; });
    var lines = ["warning", "call", "liquidation"].map(function (k) { return Number(status.lines[k]); });
    var values = points.map(function (p) { return p[1]; }).concat(lines);
    var low = Math.min.apply(null, values) - 0.05;
    var high = Math.max.apply(null, values) + 0.05;
    var t0 = points.length ? points[0][0] : 0;
    var t1 = points.length ? points[points.length - 1][0] : 1;
    function x(t) { return t1 === t0 ? 600 : ((t - t0) / (t1 - t0)) * 600; }
    function y(v) { return 200 - ((v - low) / (high - low)) * 200; }
    svg.replaceChildren();
    ["warning", "call", "liquidation"].forEach(function (name, i) {
      var line = document.createElementNS(ns, "line");
      line.setAttribute("x1", "0");
      line.setAttribute("x2", "600");
      line.setAttribute("y1", y(lines[i]).toFixed(1));
      line.setAttribute("y2", y(lines[i]).toFixed(1));
      line.setAttribute("class", "chart-line chart-line-" + name);
      svg.appendChild(line);
    });
    if (points.length) {
      var path = document.createElementNS(ns, "polyline");
      path.setAttribute("points", points.map(function (p) {
        return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1);
      }).join(" "));
      path.setAttribute("class", "chart-ratio");
      svg.appendChild(path);
    }
  }

  function accept(data) {
    if (!data || typeof data !== "object") return false;
    if (data.type === "snapshot") {
      if (data.history) state.history = data.history.slice();
      state.seq = data.seq;
      state.epoch = data.epoch;
      render(data);
      return true;
    }
    if (data.type === "status") {
      var gap = data.epoch !== state.epoch || state.seq === null || data.seq !== state.seq + 1;
      state.seq = data.seq;
      state.epoch = data.epoch;
      render(data);
      return gap;
    }
    return false;
  }

  function setConnection(live) {
    var node = document.getElementById("margin-connection");
    setText(node, live ? labels.live : labels.reconnecting);
    node.classList.toggle("is-live", live);
  }

  function poll() {
    fetch(root.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) accept(data); })
      .catch(function () { /* offline: the next poll tries again */ });
  }

  function startPolling() {
    if (pollTimer === null) {
      poll();
      pollTimer = window.setInterval(poll, POLL_MS);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function connect(delay) {
    if (!("WebSocket" in window)) {
      startPolling();
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss" : "ws";
    var socket;
    try {
      socket = new WebSocket(scheme + "://" + window.location.host + "/ws/margin/");
    } catch (e) {
      startPolling();
      return;
    }
    socket.onopen = function () {
      delay = 1000;
      stopPolling();
      setConnection(true);
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      var stale = accept(data);
      // A gap or an engine restart: ask for a full snapshot (with the chart points).
      if (stale && data.type === "status" && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "resync" }));
      }
    };
    socket.onclose = function (event) {
      setConnection(false);
      if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_NO_ACCOUNT) return;
      startPolling();
      var wait = Math.min(delay, MAX_DELAY_MS) * (0.8 + Math.random() * 0.4);
      window.setTimeout(function () { connect(Math.min(delay * 2, MAX_DELAY_MS)); }, wait);
    };
  }

  var initial = readJson("margin-initial");
  if (initial) {
    state.status = initial;
    render(initial);
  }
  window.setInterval(tickCountdown, 1000);
  connect(1000);
})();
