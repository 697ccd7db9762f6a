/* The linear procedure builder: add, move and remove step rows (renumbering their field
   names steps-<n>-<field>), and redraw the preview of the generated diagram whenever the
   form changes (POST of the form to data-preview; nothing is deployed). */
(function () {
  "use strict";
  var form = document.getElementById("linear-form");
  if (!form) { return; }
  var list = document.getElementById("steps");
  var template = document.getElementById("step-template");
  var preview = document.getElementById("preview");
  var problems = document.getElementById("preview-errors");
  var viewer = new window.BpmnJS({ container: preview });
  var timer = null;
  var pending = 0;

  function renumber() {
    Array.prototype.forEach.call(list.querySelectorAll("[data-step]"), function (row, i) {
      row.querySelector("[data-number]").textContent = String(i + 1);
      Array.prototype.forEach.call(row.querySelectorAll("[name], [id], [for], [aria-describedby]"), function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) { el.setAttribute(attr, value.replace(/^steps-\d+-/, "steps-" + i + "-")); }
        });
      });
      var back = row.querySelector("[name$='-back_to']");
      back.max = String(Math.max(i, 1));
    });
  }

  // Errors say which field in the page's language (the server sends the labels); a form
  // nobody has touched yet shows none.
  var touched = false;

  function showProblems(errors, labels) {
    problems.textContent = "";
    Object.keys(errors || {}).forEach(function (field) {
      var item = document.createElement("li");
      var step = /^steps\[(\d+)\]\.(\w+)$/.exec(field);
      var name = (labels && labels[field]) || (step ? "#" + (Number(step[1]) + 1) + " " + step[2] : field);
      item.textContent = name + ": " + errors[field].join(", ");
      problems.appendChild(item);
    });
  }

  function redraw() {
    var ticket = ++pending;
    preview.dataset.loaded = "loading";
    fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 422) { return response.json().then(function (body) { return { errors: body.errors, labels: body.labels }; }); }
        if (!response.ok) { throw new Error(response.status + " " + response.statusText); }
        return response.text().then(function (xml) { return { xml: xml }; });
      })
      .then(function (result) {
        if (ticket !== pending) { return null; }  // an older answer: a newer one is coming
        if (result.errors) {
          showProblems(touched ? result.errors : {}, result.labels);
          preview.dataset.loaded = "invalid";
          return null;
        }
        showProblems({});
        return viewer.importXML(result.xml).then(function () {
          if (ticket !== pending) { return; }
          viewer.get("canvas").zoom("fit-viewport", "auto");
          preview.dataset.loaded = "true";
          preview.dataset.steps = String(list.querySelectorAll("[data-step]").length);
        });
      })
      .catch(function (error) {
        preview.dataset.loaded = "error";
        showProblems({ preview: [String(error && error.message || error)] });
      });
  }

  function later() {
    touched = true;
    clearTimeout(timer);
    timer = setTimeout(redraw, 300);
  }

  document.getElementById("add-step").addEventListener("click", function () {
    list.appendChild(template.content.firstElementChild.cloneNode(true));
    renumber();
    list.lastElementChild.querySelector("input").focus();
    later();
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    var row = button.closest("[data-step]");
    if (button.hasAttribute("data-remove")) {
      if (list.querySelectorAll("[data-step]").length > 1) { row.remove(); }
    } else if (button.dataset.move === "-1" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
    } else if (button.dataset.move === "1" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    } else {
      return;
    }
    renumber();
    button.focus();
    later();
  });

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  renumber();
  redraw();
})();
