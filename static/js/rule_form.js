// Live preview: the same POST as the "Preview" button, answered with the preview alone,
// a moment after each change. Without JavaScript the button posts the whole form.
// The offset's label follows the purpose: a survey's offset counts after the end of the
// visit, every other before the start (the server labels it from the saved or posted purpose).
(function () {
  var form = document.getElementById("rule-form");
  if (!form) return;
  var purpose = form.querySelector("[name=purpose]");
  var offsetLabel = form.querySelector("label[for=id_offset]");
  var unconfirmed = form.querySelector("[name=only_if_unconfirmed]");
  function relabel() {
    if (!purpose || !offsetLabel) return;
    var after = purpose.value === form.dataset.surveyPurpose;
    offsetLabel.textContent = after ? form.dataset.offsetAfter : form.dataset.offsetBefore;
    // A survey has nothing to confirm: the box goes, unless ticked (the server then says why).
    var box = unconfirmed && unconfirmed.closest(".field");
    if (box) box.style.display = after && !unconfirmed.checked ? "none" : "";
  }
  if (purpose) purpose.addEventListener("change", relabel);
  relabel();
  if (!window.fetch || !window.FormData) return;
  var timer = null, sent = 0;
  function refresh() {
    var data = new FormData(form);
    data.set("action", "preview");
    var mine = ++sent, headers = {};
    headers[form.dataset.partialHeader] = "1";
    // form.action would be the buttons named "action": the page posts to its own URL.
    fetch(window.location.href, {method: "POST", body: data, headers: headers, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || mine !== sent) return;
        var current = document.getElementById("rule-preview");
        var box = document.createElement("div");
        box.innerHTML = html;
        if (current && box.firstElementChild) current.replaceWith(box.firstElementChild);
      })
      .catch(function () {});
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
  document.getElementById("preview-button").addEventListener("click", function (event) {
    event.preventDefault(); clearTimeout(timer); refresh();
  });
})();
