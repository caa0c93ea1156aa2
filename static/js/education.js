// The risk warning: the next button opens once the end has been seen and the minimum reading
// time has passed. The server keeps its own clock and refuses an early "next" whatever this does.
(function () {
  "use strict";
  const box = document.getElementById("warning-scroll");
  const end = document.getElementById("warning-end");
  const button = document.getElementById("warning-next");
  const wait = document.getElementById("warning-wait");
  if (!box || !end || !button || !wait) return;

  const started = Date.now();
  const minSeconds = Number(box.dataset.minSeconds || "0");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  let reached = false;
  let serverRemaining = null;
  let reportedAt = 0;

  function remaining() {
    if (serverRemaining !== null) {
      return Math.max(0, Math.ceil(serverRemaining - (Date.now() - reportedAt) / 1000));
    }
    return Math.max(0, Math.ceil(minSeconds - (Date.now() - started) / 1000));
  }

  function update() {
    const left = remaining();
    if (!reached) {
      wait.textContent = wait.dataset.scrollText;
    } else if (left > 0) {
      wait.textContent = wait.dataset.waitText.replace("%s", String(left));
    } else {
      wait.textContent = "";
      button.disabled = false;
      return;
    }
    window.setTimeout(update, 500);
  }

  const observer = new IntersectionObserver(function (entries) {
    if (reached || !entries.some(function (e) { return e.isIntersecting; })) return;
    reached = true;
    observer.disconnect();
    fetch(box.dataset.endUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        serverRemaining = Number(data.remaining);
        reportedAt = Date.now();
      });
  }, { root: box, threshold: 1.0 });
  observer.observe(end);
  update();
})();
