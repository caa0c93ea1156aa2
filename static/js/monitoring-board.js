// The risk board reloads itself every 10 seconds, unless the officer is typing or selecting.
(function () {
  "use strict";
  setInterval(function () {
    var selection = window.getSelection && String(window.getSelection());
    if (!selection && document.visibilityState === "visible") {
      window.location.reload();
    }
  }, 10000);
})();
