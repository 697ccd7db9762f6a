/* The bpmn-js modeler with our properties panel: name of any element; for service tasks the
   operator (spiffworkflow:serviceTaskOperator) with its parameters, listed from the server;
   for user tasks the lane (candidate group), the due date rule (crm:dueIn,
   crm:dueInWorkingDays, crm:dueExpression) and the form (crm:form); for sequence flows the
   condition expression. Deploy posts the XML; the server's problems are marked on their
   elements.

   Extension elements are edited as moddle's generic elements, without a moddle descriptor:
   a declared package makes moddle drop, on import, every element of its namespace the
   descriptor does not list (SpiffWorkflow's has dozens), while generic elements round-trip
   whatever the file holds. */
(function () {
  "use strict";

  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var CRM = "urn:bpmcrm:bpmn";
  var DUE_RULES = ["dueIn", "dueInWorkingDays", "dueExpression"];
  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:crm="' + CRM + '" ' +
    'xmlns:spiffworkflow="' + SPIFF + '" ' +
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
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var registry = modeler.get("elementRegistry");
  var panel = document.querySelector("aside.props");
  var $ = function (id) { return document.getElementById(id); };
  var nameInput = $("prop-name");
  var selected = null;
  var operators = {};        // name -> {name, doc, asynchronous, params: [...] | null}
  var problems = {};         // element id -> [problem]
  var marked = [];           // [element id] with a problem marker
  var fieldTypes = (texts.fieldTypes || "string").split(",");

  // ------------------------------------------------------------ generic moddle elements

  function nsOf(node) {
    var d = node && node.$descriptor;
    if (d && d.ns && d.ns.uri) { return { uri: d.ns.uri, local: d.ns.localName }; }
    var type = (node && node.$type) || "";
    var local = type.indexOf(":") >= 0 ? type.split(":")[1] : type;
    var prefix = type.split(":")[0];
    return { uri: prefix === "spiffworkflow" ? SPIFF : (prefix === "crm" ? CRM : ""), local: local };
  }
  function is(node, uri, local) {
    var ns = nsOf(node);
    return ns.uri === uri && ns.local === local;
  }
  function kids(node) { return (node && node.$children) || []; }
  function attrsOf(node) {
    var found = {};
    if (!node) { return found; }
    Object.keys(node).forEach(function (k) {
      if (k.charAt(0) !== "$" && typeof node[k] !== "object" && typeof node[k] !== "function") {
        found[k] = node[k];
      }
    });
    return found;
  }
  function any(name, uri, attrs, children) {
    var node = moddle.createAny(name, uri, attrs || {});
    node.$children = children || [];
    node.$children.forEach(function (c) { c.$parent = node; });
    return node;
  }
  function extValues(bo) {
    return (bo.extensionElements && bo.extensionElements.get("values")) || [];
  }
  function findExt(bo, uri, local) {
    var found = null;
    extValues(bo).forEach(function (v) { if (!found && is(v, uri, local)) { found = v; } });
    return found;
  }
  /* Replace (or add, or remove with null) the extension element uri:local of the element,
     through the command stack so that undo works. */
  function writeExt(element, uri, local, replacement) {
    var bo = element.businessObject;
    var values = extValues(bo).slice();
    var at = -1;
    values.forEach(function (v, i) { if (at < 0 && is(v, uri, local)) { at = i; } });
    if (at >= 0) { values.splice(at, 1); }
    if (replacement) { values.splice(at >= 0 ? at : values.length, 0, replacement); }
    var ext = bo.extensionElements;
    if (!ext) {
      if (!replacement) { return; }
      ext = moddle.create("bpmn:ExtensionElements", { values: values });
      replacement.$parent = ext;
      modeling.updateProperties(element, { extensionElements: ext });
      return;
    }
    if (replacement) { replacement.$parent = ext; }
    modeling.updateModdleProperties(element, ext, { values: values });
  }

  // ------------------------------------------------------------------------ helpers

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; }
    catch (e) { return ""; }
  }
  function say(text, kind) {
    status.className = "flash " + (kind || "");
    status.textContent = "";
    if (typeof text === "string") { status.textContent = text; } else { status.appendChild(text); }
  }
  function make(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "text") { node.textContent = props[k]; }
      else if (k === "class") { node.className = props[k]; }
      else if (k.indexOf("aria-") === 0 || k === "for" || k === "role") { node.setAttribute(k, props[k]); }
      else { node[k] = props[k]; }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  var uid = 0;
  function labelled(labelText, input, extraClass) {
    input.id = input.id || "pp-" + (++uid);
    return make("div", { class: "field" + (extraClass ? " " + extraClass : "") },
      [make("label", { for: input.id, text: labelText }), input]);
  }

  // ------------------------------------------------------------------ service task

  function readOperator(bo) {
    var op = findExt(bo, SPIFF, "serviceTaskOperator");
    if (!op) { return { name: "", result: "", params: [] }; }
    var list = kids(op).filter(function (c) { return is(c, SPIFF, "parameters"); })[0];
    return {
      name: op.id || "",
      result: op.resultVariable || "",
      params: kids(list).filter(function (c) { return is(c, SPIFF, "parameter"); }).map(function (p) {
        return { id: p.id || "", type: p.type || "any", value: p.value || "" };
      })
    };
  }

  function writeOperator(state) {
    if (!selected) { return; }
    if (!state.name) { writeExt(selected, SPIFF, "serviceTaskOperator", null); return; }
    var old = findExt(selected.businessObject, SPIFF, "serviceTaskOperator");
    var attrs = attrsOf(old);
    attrs.id = state.name;
    if (state.result) { attrs.resultVariable = state.result; } else { delete attrs.resultVariable; }
    var params = state.params.filter(function (p) { return p.id && p.value.trim(); }).map(function (p) {
      return any("spiffworkflow:parameter", SPIFF, { id: p.id, type: p.type || "any", value: p.value });
    });
    // SpiffWorkflow's schema wants <spiffworkflow:parameters/> even when it is empty.
    var others = kids(old).filter(function (c) { return !is(c, SPIFF, "parameters"); });
    writeExt(selected, SPIFF, "serviceTaskOperator",
      any("spiffworkflow:serviceTaskOperator", SPIFF, attrs,
        [any("spiffworkflow:parameters", SPIFF, {}, params)].concat(others)));
  }

  function kindType(kind) { return kind === "str" || kind === "int" ? kind : "any"; }

  function renderParams(state) {
    var box = $("prop-params");
    box.textContent = "";
    var spec = operators[state.name];
    var declared = spec && spec.params ? spec.params : null;
    $("prop-operator-doc").textContent = spec ? spec.doc || "" : "";
    var rows = [];
    if (declared) {
      declared.forEach(function (p) {
        var found = state.params.filter(function (x) { return x.id === p.name; })[0];
        if (!found) {
          found = { id: p.name, type: kindType(p.kind), value: "" };
          state.params.push(found);
        }
        rows.push({ param: found, spec: p });
      });
      state.params.forEach(function (x) {
        var known = declared.some(function (p) { return p.name === x.id; });
        if (!known) { rows.push({ param: x, spec: null, unknown: true }); }
      });
    } else {
      state.params.forEach(function (x) { rows.push({ param: x, spec: null, free: true }); });
      if (state.name) { box.appendChild(make("p", { class: "muted small", text: texts.anyParams })); }
    }
    rows.forEach(function (row) {
      var p = row.param;
      var value = make("input", { value: p.value, class: "param-value" });
      value.dataset.param = p.id;
      value.addEventListener("change", function () { p.value = value.value; writeOperator(state); });
      var line = make("div", { class: "param" + (row.unknown ? " unknown" : "") });
      if (row.free) {
        var name = make("input", { value: p.id, class: "param-name" });
        name.setAttribute("aria-label", texts.paramName);
        value.setAttribute("aria-label", texts.paramValue.replace("{p}", p.id || "?"));
        name.addEventListener("change", function () {
          p.id = name.value.trim();
          value.setAttribute("aria-label", texts.paramValue.replace("{p}", p.id || "?"));
          writeOperator(state);
        });
        line.appendChild(name);
        line.appendChild(value);
      } else {
        var label = p.id + (row.spec && row.spec.required ? " *" : "") +
          (row.spec && row.spec.kind !== "any" ? " (" + row.spec.kind + ")" : "");
        line.appendChild(labelled(label, value));
        if (row.spec && row.spec.required) { value.setAttribute("aria-required", "true"); }
        if (row.spec && row.spec.doc) { value.title = row.spec.doc; }
        if (row.unknown) { line.appendChild(make("p", { class: "field-errors small", text: texts.unknown })); }
      }
      if (row.free || row.unknown) {
        var remove = make("button", { type: "button", class: "small link", text: texts.remove });
        remove.setAttribute("aria-label", texts.remove + " " + (p.id || ""));
        remove.addEventListener("click", function () {
          state.params.splice(state.params.indexOf(p), 1);
          writeOperator(state);
          renderParams(state);
        });
        line.appendChild(remove);
      }
      box.appendChild(line);
    });
    $("prop-param-add").hidden = !state.name || !!declared;
  }

  function showService(bo) {
    var state = readOperator(bo);
    var select = $("prop-operator");
    Array.prototype.slice.call(select.querySelectorAll("option.unlisted")).forEach(function (o) { o.remove(); });
    if (state.name && !operators[state.name]) {
      select.appendChild(make("option", { value: state.name, text: state.name + " (?)", class: "unlisted" }));
    }
    select.value = state.name;
    $("prop-result").value = state.result;
    select.onchange = function () {
      state.name = select.value;
      // Keep the values of parameters the new operator also takes.
      renderParams(state);
      writeOperator(state);
    };
    $("prop-result").onchange = function () { state.result = $("prop-result").value.trim(); writeOperator(state); };
    $("prop-param-add").onclick = function () {
      state.params.push({ id: "", type: "any", value: "" });
      renderParams(state);
      var names = $("prop-params").querySelectorAll(".param-name");
      if (names.length) { names[names.length - 1].focus(); }
    };
    renderParams(state);
  }

  // --------------------------------------------------------------------- user task

  function laneOf(element) {
    var bo = element.businessObject;
    var found = null;
    registry.filter(function (e) { return e.type === "bpmn:Lane"; }).forEach(function (lane) {
      if ((lane.businessObject.flowNodeRef || []).indexOf(bo) >= 0) { found = lane; }
    });
    return found;
  }

  function showUser(element) {
    var bo = element.businessObject;
    var lane = laneOf(element);
    $("prop-lane-field").hidden = !lane;
    $("prop-lane-none").hidden = !!lane;
    $("prop-lane").value = lane ? lane.businessObject.name || "" : "";
    $("prop-lane").onchange = function () {
      if (lane) { modeling.updateLabel(lane, $("prop-lane").value); }
    };
    var kind = "";
    DUE_RULES.forEach(function (rule) { if (!kind && bo.get("crm:" + rule)) { kind = rule; } });
    var kindSelect = $("prop-due-kind");
    var due = $("prop-due");
    kindSelect.value = kind;
    due.value = kind ? bo.get("crm:" + kind) : "";
    function dueLabel() {
      var k = kindSelect.value;
      document.querySelector("label[for=prop-due]").textContent =
        k === "dueInWorkingDays" ? texts.dueDays : (k === "dueExpression" ? texts.dueExpr : texts.dueIn);
      due.disabled = !k;
    }
    function writeDue() {
      var props = {};
      DUE_RULES.forEach(function (rule) {
        props["crm:" + rule] = rule === kindSelect.value && due.value.trim() ? due.value.trim() : undefined;
      });
      modeling.updateProperties(element, props);
    }
    kindSelect.onchange = function () { dueLabel(); writeDue(); };
    due.onchange = writeDue;
    dueLabel();
  }

  function readForm(bo) {
    var form = findExt(bo, CRM, "form");
    return kids(form).filter(function (c) { return is(c, CRM, "field"); }).map(function (f) {
      return {
        attrs: attrsOf(f),
        options: kids(f).filter(function (c) { return is(c, CRM, "option"); }).map(attrsOf),
        others: kids(f).filter(function (c) { return !is(c, CRM, "option"); })
      };
    });
  }

  function writeForm(fields) {
    if (!selected) { return; }
    var old = findExt(selected.businessObject, CRM, "form");
    var others = kids(old).filter(function (c) { return !is(c, CRM, "field"); });
    var nodes = fields.filter(function (f) { return f.attrs.id; }).map(function (f) {
      var options = f.attrs.type === "enum" ? f.options.map(function (o) {
        return any("crm:option", CRM, o);
      }) : [];
      return any("crm:field", CRM, f.attrs, options.concat(f.others));
    });
    if (!nodes.length && !others.length) { writeExt(selected, CRM, "form", null); return; }
    writeExt(selected, CRM, "form", any("crm:form", CRM, attrsOf(old), others.concat(nodes)));
  }

  function optionsText(options) {
    return options.map(function (o) {
      return [o.value || "", o.label || "", o["label.ru"] || ""].join("|").replace(/\|+$/, "");
    }).join("\n");
  }

  function parseOptions(text, old) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var parts = line.split("|").map(function (s) { return s.trim(); });
      var was = old.filter(function (o) { return o.value === parts[0]; })[0] || {};
      var option = {};
      Object.keys(was).forEach(function (k) { option[k] = was[k]; });
      option.value = parts[0];
      if (parts[1]) { option.label = parts[1]; } else { delete option.label; }
      if (parts[2]) { option["label.ru"] = parts[2]; } else { delete option["label.ru"]; }
      return option;
    });
  }

  function renderFields(fields) {
    var box = $("prop-fields");
    box.textContent = "";
    fields.forEach(function (f, index) {
      var a = f.attrs;
      function set(name, value) {
        if (value === "" || value === false) { delete a[name]; } else { a[name] = value === true ? "true" : value; }
        writeForm(fields);
      }
      var id = make("input", { value: a.id || "", class: "field-id" });
      id.addEventListener("change", function () { set("id", id.value.trim()); });
      var type = make("select", {});
      fieldTypes.forEach(function (t) { type.appendChild(make("option", { value: t, text: t })); });
      type.value = a.type || "string";
      var label = make("input", { value: a.label || "" });
      label.addEventListener("change", function () { set("label", label.value); });
      var labelRu = make("input", { value: a["label.ru"] || "" });
      labelRu.addEventListener("change", function () { set("label.ru", labelRu.value); });
      var required = make("input", { type: "checkbox", checked: a.required === "true" || a.required === "1" });
      required.addEventListener("change", function () { set("required", required.checked); });
      var options = make("textarea", { rows: 3, value: optionsText(f.options) });
      var optionsField = labelled(texts.fieldOptions, options);
      optionsField.hidden = type.value !== "enum";
      options.addEventListener("change", function () {
        f.options = parseOptions(options.value, f.options);
        writeForm(fields);
      });
      type.addEventListener("change", function () {
        optionsField.hidden = type.value !== "enum";
        set("type", type.value);
      });
      var remove = make("button", { type: "button", class: "small link", text: texts.remove });
      remove.setAttribute("aria-label", texts.remove + " " + (a.id || ""));
      remove.addEventListener("click", function () {
        fields.splice(index, 1);
        writeForm(fields);
        renderFields(fields);
      });
      var requiredLabel = make("label", { class: "check" }, [required, document.createTextNode(" " + texts.fieldRequired)]);
      var legend = make("legend", { text: texts.fieldN.replace("{n}", index + 1) + (a.id ? ": " + a.id : "") });
      box.appendChild(make("fieldset", { class: "form-field" }, [
        legend,
        labelled(texts.fieldId, id), labelled(texts.fieldType, type),
        labelled(texts.fieldLabel, label), labelled(texts.fieldLabelRu, labelRu),
        requiredLabel, optionsField, remove
      ]));
    });
  }

  function showForm(bo) {
    var fields = readForm(bo);
    renderFields(fields);
    $("prop-field-add").onclick = function () {
      var n = fields.length + 1;
      var taken = fields.map(function (f) { return f.attrs.id; });
      while (taken.indexOf("field_" + n) >= 0) { n += 1; }
      fields.push({ attrs: { id: "field_" + n, type: "string", label: "Field " + n }, options: [], others: [] });
      writeForm(fields);
      renderFields(fields);
      var ids = $("prop-fields").querySelectorAll(".field-id");
      ids[ids.length - 1].focus();
    };
  }

  // ---------------------------------------------------------------- sequence flow

  function showFlow(element) {
    var bo = element.businessObject;
    var input = $("prop-condition");
    input.value = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    input.onchange = function () {
      var text = input.value.trim();
      modeling.updateProperties(element, {
        conditionExpression: text ? moddle.create("bpmn:FormalExpression", { body: text }) : undefined
      });
    };
  }

  // --------------------------------------------------------------------- process

  /* The process the panel edits with nothing selected (the diagram's root) or with a pool
     selected (its process). */
  function showProcess(element) {
    var group = $("props-process");
    var target = element || modeler.get("canvas").getRootElement();
    var process = target && target.businessObject &&
      (target.type === "bpmn:Participant" ? target.businessObject.processRef : target.businessObject);
    if (!process || process.$type !== "bpmn:Process") { group.hidden = true; return; }
    group.hidden = false;
    $("proc-id").value = process.id;
    $("proc-name").value = process.name || "";
    $("proc-startable").value = process.get("crm:startableBy") || "";
    $("proc-subjects").value = process.get("crm:subjectTypes") || "";
    function write(props) { modeling.updateModdleProperties(target, process, props); }
    $("proc-name").onchange = function () { write({ name: $("proc-name").value || undefined }); };
    $("proc-startable").onchange = function () {
      write({ "crm:startableBy": $("proc-startable").value.trim().replace(/\s+/g, " ") || undefined });
    };
    $("proc-subjects").onchange = function () {
      write({ "crm:subjectTypes": $("proc-subjects").value.trim().replace(/\s+/g, " ") || undefined });
    };
  }

  // ----------------------------------------------------------------------- panel

  function showProps(element) {
    selected = element;
    var form = $("props-form");
    var empty = $("props-empty");
    if (!element || element.type === "bpmn:Process" || element.type === "label") {
      form.hidden = true; empty.hidden = false; selected = null;
      showProcess(null);
      return;
    }
    if (element.type === "bpmn:Participant") { showProcess(element); } else { $("props-process").hidden = true; }
    var bo = element.businessObject;
    form.hidden = false; empty.hidden = true;
    $("prop-type").textContent = element.type.replace("bpmn:", "");
    $("prop-id").value = bo.id;
    nameInput.value = bo.name || "";
    var service = element.type === "bpmn:ServiceTask";
    var user = element.type === "bpmn:UserTask" || element.type === "bpmn:ManualTask";
    $("props-service").hidden = !service;
    $("props-user").hidden = !user;
    $("props-form-fields").hidden = !user;
    $("props-flow").hidden = element.type !== "bpmn:SequenceFlow";
    if (service) { showService(bo); }
    if (user) { showUser(element); showForm(bo); }
    if (element.type === "bpmn:SequenceFlow") { showFlow(element); }
    var list = $("prop-problems");
    list.textContent = "";
    (problems[bo.id] || []).forEach(function (p) { list.appendChild(make("li", { text: p })); });
    list.hidden = !list.childNodes.length;
  }

  /* Keyboard users cannot pick shapes on the canvas: this list selects any element. */
  var picker = $("prop-pick");
  function fillPicker() {
    var keep = selected ? selected.id : "";
    Array.prototype.slice.call(picker.options, 1).forEach(function (o) { o.remove(); });
    registry.filter(function (e) {
      return e.type !== "label" && e.businessObject && e.type !== "bpmn:Process" &&
        e.type.indexOf("bpmndi") < 0 && e !== modeler.get("canvas").getRootElement();
    }).sort(function (a, b) {
      return (a.businessObject.name || a.id).localeCompare(b.businessObject.name || b.id);
    }).forEach(function (e) {
      var name = e.businessObject.name;
      picker.appendChild(make("option", {
        value: e.id, text: (name ? name + " — " : "") + e.type.replace("bpmn:", "") + " " + e.id
      }));
    });
    picker.value = keep;
  }
  picker.addEventListener("change", function () {
    var target = picker.value ? registry.get(picker.value) : null;
    if (target) {
      modeler.get("selection").select(target);
      try { modeler.get("canvas").scrollToElement(target); } catch (e) { /* older canvas */ }
    } else {
      modeler.get("selection").select(null);
    }
  });

  modeler.on("selection.changed", function (event) {
    showProps(event.newSelection.length === 1 ? event.newSelection[0] : null);
    picker.value = selected ? selected.id : "";
  });
  modeler.on("element.changed", function (event) {
    if (selected && event.element === selected && document.activeElement !== nameInput) {
      nameInput.value = selected.businessObject.name || "";
    }
  });
  // Undo and redo change the element behind the panel's back: redraw it, unless the user
  // is typing in it (the panel's own writes come through here too).
  modeler.on("commandStack.changed", function () {
    if (!panel.contains(document.activeElement)) { showProps(selected); }
    if (document.activeElement !== picker) { fillPicker(); }
  });
  nameInput.addEventListener("input", function () {
    if (selected) { modeling.updateLabel(selected, nameInput.value); }
  });

  // ---------------------------------------------------------------------- deploy

  function clearMarks() {
    var canvas = modeler.get("canvas");
    modeler.get("overlays").remove({ type: "deploy-problem" });
    marked.forEach(function (id) { try { canvas.removeMarker(id, "deploy-problem"); } catch (e) { /* gone */ } });
    marked = [];
    problems = {};
  }

  function markProblems(marks) {
    var canvas = modeler.get("canvas");
    marks.forEach(function (m) {
      if (!m.element || !registry.get(m.element)) { return; }
      (problems[m.element] = problems[m.element] || []).push(m.problem);
      if (marked.indexOf(m.element) >= 0) { return; }
      marked.push(m.element);
      canvas.addMarker(m.element, "deploy-problem");
      var badge = make("span", { class: "problem-badge", text: "!", title: m.problem });
      modeler.get("overlays").add(m.element, "deploy-problem", { position: { top: -10, right: 10 }, html: badge });
    });
  }

  function select(id) {
    var target = registry.get(id);
    if (!target) { return; }
    modeler.get("selection").select(target);
    try { modeler.get("canvas").scrollToElement(target); } catch (e) { /* older canvas */ }
    var first = panel.querySelector("#prop-problems li");
    nameInput.focus();
    if (first) { first.scrollIntoView({ block: "nearest" }); }
  }

  $("deploy").addEventListener("click", function () {
    say(texts.loading);
    clearMarks();
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
        var link = make("a", { href: answer.body.url, text: texts.deployed.replace("{v}", answer.body.version) });
        say(link, "success");
        status.dataset.version = answer.body.version;
        if (selected) { showProps(selected); }
        return;
      }
      var box = make("div", { text: texts.failed + " " + answer.body.message });
      var list = make("ul", { class: "deploy-problems" });
      var marks = answer.body.marks || (answer.body.problems || []).map(function (p) { return { problem: p }; });
      marks.forEach(function (m) {
        var item = make("li", { text: m.problem + " " });
        if (m.element && registry.get(m.element)) {
          var show = make("button", { type: "button", class: "small link", text: texts.show });
          show.setAttribute("aria-label", texts.show + " " + m.element);
          show.addEventListener("click", function () { select(m.element); });
          item.appendChild(show);
        }
        list.appendChild(item);
      });
      box.appendChild(list);
      say(box, "error");
      markProblems(marks);
      if (selected) { showProps(selected); }
    }).catch(function (error) { say(texts.failed + " " + error, "error"); });
  });

  $("download").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (result) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([result.xml], { type: "application/xml" }));
      link.download = el.dataset.filename;
      link.click();
    });
  });

  // ------------------------------------------------------------------------ load

  function loadOperators() {
    return fetch(el.dataset.operators, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (body) {
      var select = $("prop-operator");
      body.operators.forEach(function (op) {
        operators[op.name] = op;
        select.appendChild(make("option", { value: op.name, text: op.name }));
      });
    }).catch(function () { say(texts.operatorsFailed, "error"); });
  }

  function load() {
    var source = el.dataset.source;
    var xml = source
      ? fetch(source, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      : Promise.resolve(BLANK);
    return Promise.all([xml, loadOperators()]).then(function (got) {
      return modeler.importXML(got[0]);
    }).then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      showProps(null);
      fillPicker();
      el.dataset.loaded = "true";
    }).catch(function (error) {
      el.dataset.loaded = "error";
      say(String(error && error.message || error), "error");
    });
  }

  load();
})();
