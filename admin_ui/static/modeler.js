/* The bpmn-js modeler: load a deployed version (or a blank diagram), edit the name and the
   due time (crm:dueIn) of the selected element, deploy the XML to the server. */
(function () {
  "use strict";

  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:crm="urn:bpmcrm:bpmn" ' +
    'id="new_definitions" targetNamespace="urn:bpmcrm:procedures">' +
    '<bpmn:process id="new_process" name="New procedure" isExecutable="true">' +
    '<bpmn:startEvent id="start" name="Start"/></bpmn:process>' +
    '<bpmndi:BPMNDiagram id="new_diagram"><bpmndi:BPMNPlane id="new_plane" bpmnElement="new_process">' +
    '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/>' +
    '</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>';

  var el = document.getElementById("modeler");
  if (!el) { return; }
  var texts = document.getElementById("modeler-texts").dataset;
  var status = document.getElementById("modeler-status");
  var modeler = new window.BpmnJS({ container: el, keyboard: { bindTo: document } });
  var selected = null;
  var nameInput = document.getElementById("prop-name");
  var dueInput = document.getElementById("prop-due");

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; }
    catch (e) { return ""; }
  }

  function say(text, kind) {
    status.className = "flash " + (kind || "");
    status.textContent = "";
    if (typeof text === "string") { status.textContent = text; } else { status.appendChild(text); }
  }

  function load() {
    var source = el.dataset.source;
    var xml = source
      ? fetch(source, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      : Promise.resolve(BLANK);
    return xml.then(function (text) { return modeler.importXML(text); }).then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      el.dataset.loaded = "true";
    }).catch(function (error) {
      el.dataset.loaded = "error";
      say(String(error && error.message || error), "error");
    });
  }

  function showProps(element) {
    selected = element;
    var form = document.getElementById("props-form");
    var empty = document.getElementById("props-empty");
    if (!element || element.type === "bpmn:Process") {
      form.hidden = true; empty.hidden = false; return;
    }
    var bo = element.businessObject;
    form.hidden = false; empty.hidden = true;
    document.getElementById("prop-id").value = bo.id;
    nameInput.value = bo.name || "";
    dueInput.value = bo.get("crm:dueIn") || "";
    dueInput.closest(".field").hidden = element.type !== "bpmn:UserTask";
  }

  modeler.on("selection.changed", function (event) {
    showProps(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });
  modeler.on("element.changed", function (event) {
    if (selected && event.element === selected && document.activeElement !== nameInput) {
      nameInput.value = selected.businessObject.name || "";
    }
  });
  nameInput.addEventListener("input", function () {
    if (selected) { modeler.get("modeling").updateLabel(selected, nameInput.value); }
  });
  dueInput.addEventListener("change", function () {
    if (selected) {
      modeler.get("modeling").updateProperties(selected, { "crm:dueIn": dueInput.value || undefined });
    }
  });

  document.getElementById("deploy").addEventListener("click", function () {
    say(texts.loading);
    modeler.saveXML({ format: true }).then(function (result) {
      var url = el.dataset.deploy + "?filename=" + encodeURIComponent(el.dataset.filename);
      return fetch(url, {
        method: "POST", credentials: "same-origin", body: result.xml,
        headers: { "Content-Type": "application/xml", "X-CSRF-Token": csrf() }
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (answer.ok) {
        var link = document.createElement("a");
        link.href = answer.body.url;
        link.textContent = texts.deployed.replace("{v}", answer.body.version);
        say(link, "success");
        status.dataset.version = answer.body.version;
      } else {
        var box = document.createElement("div");
        box.textContent = texts.failed + " " + answer.body.message;
        var list = document.createElement("ul");
        (answer.body.problems || []).forEach(function (p) {
          var item = document.createElement("li"); item.textContent = p; list.appendChild(item);
        });
        box.appendChild(list);
        say(box, "error");
      }
    }).catch(function (error) { say(texts.failed + " " + error, "error"); });
  });

  document.getElementById("download").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (result) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([result.xml], { type: "application/xml" }));
      link.download = el.dataset.filename;
      link.click();
    });
  });

  load();
})();
