/* The instance page: the diagram with tokens (orange, with their count), done steps (green)
   and incidents (red); confirmation of the destructive forms (data-confirm); the reassign
   form's task picker. No inline script, so the page works under script-src 'self'. */
(function () {
  "use strict";

  function badge(overlays, id, text, incident) {
    var span = document.createElement("span");
    span.className = "token-count" + (incident ? " incident" : "");
    span.textContent = text;
    try {
      overlays.add(id, "tokens", { position: { bottom: 12, right: 12 }, html: span });
    } catch (e) { /* not drawn */ }
  }

  var el = document.getElementById("diagram");
  if (el && window.BpmnJS && window.CrmDiagram) {
    window.CrmDiagram.show(el, function (viewer, canvas) {
      var list = window.CrmDiagram.list;
      var overlays = viewer.get("overlays");
      // The engine names an incident's task by its name or its id: find the elements.
      var incidents = [];
      list(el, "incidents").forEach(function (named) {
        viewer.get("elementRegistry").filter(function (e) {
          return e.id === named || (e.businessObject && e.businessObject.name === named);
        }).forEach(function (e) { if (incidents.indexOf(e.id) < 0) { incidents.push(e.id); } });
      });
      var tokens = {};
      try { tokens = JSON.parse(el.dataset.tokens || "{}"); } catch (e) { tokens = {}; }
      window.CrmDiagram.mark(canvas, incidents, "incident-task");
      Object.keys(tokens).forEach(function (id) {
        if (incidents.indexOf(id) >= 0) { badge(overlays, id, "!", true); }
        else if (tokens[id].active) { badge(overlays, id, String(tokens[id].active), false); }
      });
    });
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  var reassign = document.getElementById("reassign-form");
  if (reassign) {
    var task = document.getElementById("rr-task");
    var sync = function () { reassign.action = reassign.dataset.action.replace("GUID", task.value); };
    task.addEventListener("change", sync);
    sync();
  }
})();
