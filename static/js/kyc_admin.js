// Leaving a KYC case lets it go for the next reviewer (accounts.review_lock); a form posted
// from the page itself (a decision) does not count as leaving.
(function () {
  "use strict";
  var marker = document.getElementById("kyc-release");
  if (!marker || !navigator.sendBeacon) return;
  var submitting = false;
  document.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("pagehide", function () {
    if (submitting) return;
    var body = new FormData();
    body.append("csrfmiddlewaretoken", marker.dataset.csrf);
    navigator.sendBeacon(marker.dataset.url, body);
  });
})();
