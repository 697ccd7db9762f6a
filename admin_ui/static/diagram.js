/* Draw BPMN diagrams with the bpmn-js viewer: every element with data-diagram (the URL of
   the XML) becomes a viewer; data-active / data-done list element ids to mark. A page that
   decorates its diagram further (data-decorated) calls CrmDiagram.show with its own step. */
(function () {
  "use strict";

  function list(el, name) {
    try { return JSON.parse(el.dataset[name] || "[]"); } catch (e) { return []; }
  }

  function mark(canvas, ids, marker) {
    ids.forEach(function (id) {
      try { canvas.addMarker(id, marker); } catch (e) { /* not drawn in this diagram */ }
    });
  }

  function show(el, decorate) {
    var viewer = new window.BpmnJS({ container: el });
    fetch(el.dataset.diagram, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        canvas.zoom("fit-viewport", "auto");
        mark(canvas, list(el, "done"), "done-task");
        mark(canvas, list(el, "active"), "active-task");
        if (decorate) { decorate(viewer, canvas); }
        el.dataset.loaded = "true";
      })
      .catch(function (error) {
        el.dataset.loaded = "error";
        el.textContent = String(error && error.message || error);
      });
  }

  window.CrmDiagram = { show: show, mark: mark, list: list };
  if (window.BpmnJS) {
    document.querySelectorAll("[data-diagram]:not([data-decorated])").forEach(function (el) {
      show(el);
    });
  }
})();
