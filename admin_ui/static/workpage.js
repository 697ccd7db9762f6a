// The workpage's "Arrange widgets" form: drag a row, or use its arrow buttons (keyboard),
// to change the order in place; the hidden `order` inputs follow the rows, so "Save
// layout" posts the new order. Without this script the arrows submit and the server moves.
(function () {
  "use strict";
  var list = document.querySelector("[data-arrange]");
  if (!list) return;
  var status = document.querySelector("[data-arrange-status]");
  var dragged = null;

  function say(row) {
    var rows = Array.prototype.slice.call(list.children);
    var label = row.querySelector("label").textContent.trim();
    if (status) status.textContent = label + ": " + (rows.indexOf(row) + 1) + "/" + rows.length;
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-move]");
    if (!button) return;
    event.preventDefault();
    var row = button.closest("li");
    if (button.getAttribute("data-move") === "up" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
    } else if (button.getAttribute("data-move") === "down" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    }
    button.focus();
    say(row);
  });

  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest("li");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-name"));
  });
  list.addEventListener("dragover", function (event) {
    var over = event.target.closest("li");
    if (!dragged || !over) return;
    event.preventDefault();
    if (over === dragged) return;
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  list.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });
  list.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    say(dragged);
    dragged = null;
  });
})();
