/* The records office pages, without inline scripts (strict CSP):
   - card tabs: mark the tab that was loaded by htmx as selected; arrow keys, Home and End
     move between tabs (WAI-ARIA tabs pattern, activation follows focus);
   - journal form: redraw the next-number preview as the template is typed. */
(function () {
  "use strict";

  function select(tabs, chosen) {
    Array.prototype.forEach.call(tabs.querySelectorAll("[role=tab]"), function (tab) {
      var on = tab === chosen;
      tab.classList.toggle("on", on);
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.setAttribute("tabindex", on ? "0" : "-1");
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), function (tabs) {
    tabs.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail && event.detail.successful) { select(tabs, event.detail.elt); }
    });
    tabs.addEventListener("keydown", function (event) {
      var all = Array.prototype.slice.call(tabs.querySelectorAll("[role=tab]"));
      var at = all.indexOf(document.activeElement);
      if (at < 0) { return; }
      var next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
      if (next === undefined) { return; }
      event.preventDefault();
      var tab = all[(next + all.length) % all.length];
      tab.focus();
      tab.click();
    });
  });

  var template = document.querySelector("[data-number-preview]");
  if (template) {
    var form = template.form;
    var out = document.getElementById(template.dataset.numberPreview);
    var timer = null;
    var ticket = 0;
    var redraw = function () {
      var mine = ++ticket;
      fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) { return response.text().then(function (html) { return [response.ok, html]; }); })
        .then(function (answer) {
          if (mine !== ticket) { return; }
          out.innerHTML = answer[1];
          out.dataset.state = answer[0] ? "valid" : "invalid";
        });
    };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(redraw, 250); });
  }
})();
