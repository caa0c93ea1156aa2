// Client support pages: due times are stated in Beijing time; when the reader's own time zone
// differs, add the same moment in theirs.
(function () {
  "use strict";

  function restate(root) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone || zone === "Asia/Shanghai") return;
    var lang = document.documentElement.lang || undefined;
    root.querySelectorAll("time.support-time[datetime]").forEach(function (el) {
      if (el.dataset.restated) return;
      var moment = new Date(el.getAttribute("datetime"));
      if (isNaN(moment)) return;
      var local = new Intl.DateTimeFormat(lang, {
        month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
      }).format(moment);
      var extra = document.createElement("span");
      extra.className = "support-local-time";
      extra.textContent = " (" + local + ")";
      el.after(extra);
      el.dataset.restated = "1";
    });
  }

  function toggleProcess() {
    var type = document.getElementById("id_type");
    var details = document.querySelector("[data-show-for]");
    if (!type || !details) return;
    var show = details.dataset.showFor.split(" ").indexOf(type.value) !== -1;
    details.hidden = !show;
    if (show) details.open = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    restate(document);
    var type = document.getElementById("id_type");
    if (type) {
      type.addEventListener("change", toggleProcess);
      toggleProcess();
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { restate(event.target); });
})();
