// The dashboard's progressive enhancement. Every page works without it (forms post, links
// navigate); htmx makes the requests, and this file only adds what htmx does not: opening the
// side panel it fills, closing it when the server says so, short messages, a menu at a time,
// and keyboard shortcuts.
(function () {
  "use strict";

  function panel() { return document.getElementById("panel"); }

  function closePanel() {
    var dialog = panel();
    if (dialog && dialog.open) dialog.close();
  }

  var toastTimer = null;
  function showMessage(text, level) {
    var toast = document.getElementById("toast");
    if (!toast || !text) return;
    toast.textContent = text;
    toast.className = "toast toast-visible" + (level === "error" ? " toast-error" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.className = "toast"; }, level === "error" ? 9000 : 5000);
  }

  function closeMenus(except) {
    document.querySelectorAll("details.appt-menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "panel-body") {
      var dialog = panel();
      if (dialog && !dialog.open) dialog.showModal();
      var first = target.querySelector("[autofocus], textarea, input:not([type=hidden]), select, button");
      if (first) first.focus();
    }
  });

  // A board refreshed (every minute, or after a change) keeps the place the person scrolled to.
  var boardScroll = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var scroller = target && target.querySelector && target.querySelector(".board-scroll");
    boardScroll = scroller ? [scroller.scrollTop, scroller.scrollLeft] : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!boardScroll || !target) return;
    var board = document.getElementById(target.id) || target;
    var scroller = board.querySelector && board.querySelector(".board-scroll");
    if (scroller) { scroller.scrollTop = boardScroll[0]; scroller.scrollLeft = boardScroll[1]; }
    boardScroll = null;
  });

  // On arriving at today's board, show the current time near the top, with the hour before it.
  function scrollToNow() {
    var scroller = document.querySelector(".board-scroll");
    var line = scroller && scroller.querySelector(".now-line");
    if (!line) return;
    var hour = scroller.querySelector(".hour");
    scroller.scrollTop = Math.max(0, line.offsetTop - (hour ? hour.offsetHeight : 0) - 40);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scrollToNow);
  else scrollToNow();

  document.addEventListener("closePanel", closePanel);
  document.addEventListener("showMessage", function (event) {
    var detail = event.detail || {};
    showMessage(detail.text || detail.value, detail.level);
  });
  document.addEventListener("htmx:responseError", function () {
    showMessage(document.body.dataset.errorText, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showMessage(document.body.dataset.errorText, "error");
  });

  // An action chosen from a block's menu closes the menu.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.closest) {
      var menu = elt.closest("details.appt-menu");
      if (menu) menu.removeAttribute("open");
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("[data-close-panel]");
    if (closer) {
      event.preventDefault();
      closePanel();
      return;
    }
    var inMenu = event.target.closest && event.target.closest("details.appt-menu");
    closeMenus(inMenu);
  });

  document.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches("details.appt-menu") && event.target.open) {
      closeMenus(event.target);
    }
  }, true);

  // Filters apply as soon as they change (their "Show" button is for pages without JavaScript).
  document.addEventListener("change", function (event) {
    var field = event.target, form = field && field.form;
    if (form && form.hasAttribute("data-autosubmit") && field.matches("select, input[type=date]")) {
      form.requestSubmit();
    }
  });

  // Keyboard: Escape closes an open menu; single keys follow the links that declare them
  // (data-key), unless the person is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var open = document.querySelector("details.appt-menu[open]");
      if (open) {
        open.removeAttribute("open");
        var summary = open.querySelector("summary");
        if (summary) summary.focus();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (panel() && panel().open) return;
    var link = document.querySelector('[data-key="' + (event.key === "/" ? "slash" : event.key) + '"]');
    if (!link) return;
    event.preventDefault();
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(link.tagName)) link.focus();
    else link.click();
  });
})();

// Selects that act at once (the business switcher): a handler here, not an inline
// `onchange`, which the Content-Security-Policy refuses.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select && select.matches && select.matches("select[data-submit-on-change]") && select.form) {
    select.form.requestSubmit();
  }
});

// Fields whose whole value is meant to be copied (a new API key): select it on focus.
document.addEventListener("focusin", function (event) {
  var field = event.target;
  if (field && field.matches && field.matches("input[data-select-on-focus]")) field.select();
});

// What htmx trigger filters (`every 60s [...]`) would do, without the eval the
// Content-Security-Policy forbids:
// - data-poll-pause="<selector>": a timed refresh waits while such an element exists (an
//   open menu or dialog would be closed under the person's hand);
// - data-trigger-only="<selector>": only events from matching elements send the request.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail.elt;
  if (!elt || !elt.getAttribute) return;
  var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  var pause = elt.getAttribute("data-poll-pause");
  if (pause && !trigger && document.querySelector(pause)) {
    event.preventDefault();  // htmx's polling calls without an event
    return;
  }
  var only = elt.getAttribute("data-trigger-only");
  if (only && trigger && trigger.target && trigger.target.matches && !trigger.target.matches(only)) {
    event.preventDefault();
  }
});
