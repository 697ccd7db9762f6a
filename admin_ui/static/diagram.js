/* Draw BPMN diagrams with the bpmn-js viewer: every element with data-diagram (the URL of
   the XML) becomes a viewer; data-active / data-done list element ids to mark. */
(function () {
  "use strict";

  function mark(canvas, ids, marker) {
    ids.forEach(function (id) {
      try { canvas.addMarker(id, marker); } catch (e) { /* not drawn in this diagram */ }
    });
  }

  function show(el) {
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
        mark(canvas, JSON.parse(el.dataset.done || "[]"), "done-task");
        mark(canvas, JSON.parse(el.dataset.active || "[]"), "active-task");
        el.dataset.loaded = "true";
      })
      .catch(function (error) {
        el.dataset.loaded = "error";
        el.textContent = String(error && error.message || error);
      });
  }

  document.querySelectorAll("[data-diagram]").forEach(show);
})();
