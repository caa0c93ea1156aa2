// The agents' queue and ticket page: live SLA countdowns, coloured by the 75/90/100% thresholds,
// and canned replies dropped into the reply box.
(function () {
  "use strict";

  // Units in the page's language: 2天3小时 in Chinese, 2d 3h in English.
  var CHINESE = (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0;
  var UNITS = CHINESE ? { d: "天", h: "小时", m: "分", sep: "" } : { d: "d", h: "h", m: "m", sep: " " };

  function format(ms) {
    var sign = ms < 0 ? "−" : "";
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var hours = Math.floor(minutes / 60);
    var days = Math.floor(hours / 24);
    if (days >= 1) return sign + days + UNITS.d + UNITS.sep + (hours % 24) + UNITS.h;
    return sign + hours + UNITS.h + UNITS.sep + String(minutes % 60).padStart(2, "0") + UNITS.m;
  }

  function stage(el, now) {
    var due = Date.parse(el.dataset.due);
    var d90 = Date.parse(el.dataset.due90 || "");
    var d75 = Date.parse(el.dataset.due75 || "");
    if (now >= due) return "sla-breached";
    if (!isNaN(d90) && now >= d90) return "sla-90";
    if (!isNaN(d75) && now >= d75) return "sla-75";
    return "sla-ok";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla-countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      if (!el.dataset.label) el.dataset.label = el.textContent;
      el.textContent = format(due - now) + " · " + el.dataset.label;
      el.classList.remove("sla-ok", "sla-75", "sla-90", "sla-breached");
      el.classList.add(stage(el, now));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    var canned = document.getElementById("canned-reply");
    if (canned) {
      canned.addEventListener("change", function () {
        var target = document.getElementById(canned.dataset.target);
        if (target && canned.value) {
          target.value = target.value ? target.value + "\n\n" + canned.value : canned.value;
          target.focus();
        }
      });
    }
  });
})();
