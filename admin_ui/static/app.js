/* Behaviour shared by every page, kept out of the HTML so the Content-Security-Policy can
   forbid inline scripts and eval (webapi/hardening.py; htmx's hx-on needs eval, so none):
   - tabs loaded by htmx: the tab that was fetched becomes the selected one. */
(function () {
  "use strict";

  document.addEventListener("htmx:afterRequest", function (event) {
    var tab = event.detail && event.detail.elt;
    if (!event.detail.successful || !tab || tab.getAttribute("role") !== "tab") { return; }
    var list = tab.closest("[role=tablist]");
    if (!list) { return; }
    Array.prototype.forEach.call(list.querySelectorAll("[role=tab]"), function (other) {
      other.classList.toggle("on", other === tab);
      other.setAttribute("aria-selected", other === tab ? "true" : "false");
    });
  });
})();
