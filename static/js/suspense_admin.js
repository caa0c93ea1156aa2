// "Choose" beside a suggested client fills the margin account field; staff still save and credit.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".suspense-choose");
    if (!button) return;
    var field = document.getElementById("id_margin_account");
    if (field) {
      field.value = button.dataset.account;
      field.focus();
    }
  });
})();
