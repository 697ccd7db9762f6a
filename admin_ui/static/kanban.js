// The sales board: drag a card to another column; the server moves the deal with the
// same checks as the API and answers JSON. A refused move leaves the card where it was.
(function () {
  "use strict";
  var board = document.getElementById("kanban");
  if (!board) return;
  var status = document.getElementById("board-status");
  var token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
  var dragged = null;

  function recount() {
    board.querySelectorAll(".kanban-column").forEach(function (col) {
      col.querySelector("[data-count]").textContent = col.querySelectorAll(".kanban-card").length;
    });
  }

  function move(card, column) {
    var stage = column.getAttribute("data-stage");
    var body = new URLSearchParams({ stage: stage, version: card.getAttribute("data-version") });
    if (column.getAttribute("data-kind") === "lost") {
      var reason = window.prompt(board.getAttribute("data-lost-prompt"));
      if (!reason) return;
      body.set("lost_reason", reason);
    }
    var url = board.getAttribute("data-move-url").replace("DEAL", card.getAttribute("data-deal"));
    fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        if (!result.ok) {
          status.textContent = [result.data.message].concat(result.data.errors || []).join(" ");
          status.classList.add("error");
          return;
        }
        card.setAttribute("data-version", result.data.version);
        column.querySelector(".kanban-cards").prepend(card);
        status.classList.remove("error");
        status.textContent = "";
        recount();
      });
  }

  board.addEventListener("dragstart", function (event) {
    dragged = event.target.closest(".kanban-card");
    if (dragged) event.dataTransfer.setData("text/plain", dragged.id);
  });
  board.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest(".kanban-column")) event.preventDefault();
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest(".kanban-column");
    if (!dragged || !column) return;
    event.preventDefault();
    if (dragged.closest(".kanban-column") !== column) move(dragged, column);
    dragged = null;
  });
})();
