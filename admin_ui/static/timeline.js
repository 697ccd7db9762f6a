/* The monitor's context menu: on a bar (right click, or Shift+F10 / the menu key on a
   focused bar) and on a row's ⋯ button. The server lists in data-commands only what the
   instance's state and the user's rights allow; each command is a POST with the session's
   CSRF token that comes back to this page. Arrow keys move in the menu, Escape closes it. */
(function () {
  "use strict";

  var menu = document.getElementById("tl-menu");
  if (!menu) { return; }
  var opener = null;

  function here() { return window.location.pathname + window.location.search; }

  function post(url) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = url;
    [["csrf_token", document.getElementById("tl-csrf").value], ["next", here()]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function dialog(id, url, text) {
    var box = document.getElementById(id);
    var form = box.querySelector("form");
    form.action = url;
    form.elements.next.value = here();
    var task = box.querySelector("#tl-reassign-task");
    if (task) { task.textContent = text || ""; }
    box.showModal();
    var first = box.querySelector("select, textarea, button[type=submit]");
    if (first) { first.focus(); }
  }

  /* The people and groups of the reassign dialog, fetched the first time it opens. */
  var loaded = null;
  function people() {
    var select = document.getElementById("tl-reassign-to");
    if (!loaded) {
      loaded = fetch(select.dataset.source, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.json();
      }).then(function (found) {
        found.forEach(function (p) {
          var option = document.createElement("option");
          option.value = p.value; option.textContent = p.label;
          select.appendChild(option);
        });
      }).catch(function () { loaded = null; });
    }
    return loaded || Promise.resolve();
  }

  function run(command, source) {
    close(false);
    if (command.kind === "link") { window.location.href = command.url; }
    else if (command.kind === "post") { post(command.url); }
    else if (command.kind === "confirm") { dialog("tl-confirm", command.url); }
    else if (command.kind === "reassign") {
      var text = source.classList.contains("bar") ? source.textContent : command.label;
      people().then(function () { dialog("tl-reassign", command.url, text); });
    }
  }

  function items() { return Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]")); }

  function open(source, x, y) {
    var commands;
    try { commands = JSON.parse(source.dataset.commands || "[]"); } catch (e) { return; }
    close(false);
    menu.textContent = "";
    commands.forEach(function (command) {
      var li = document.createElement("li");
      li.setAttribute("role", "none");
      var item = document.createElement("button");
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
      item.textContent = command.label;
      item.className = command.kind === "confirm" ? "danger" : "";
      item.addEventListener("click", function () { run(command, source); });
      li.appendChild(item);
      menu.appendChild(li);
    });
    opener = source;
    if (source.getAttribute("aria-haspopup")) { source.setAttribute("aria-expanded", "true"); }
    menu.hidden = false;
    var left = Math.min(x, window.scrollX + document.documentElement.clientWidth - menu.offsetWidth - 8);
    menu.style.left = Math.max(left, 0) + "px";
    menu.style.top = y + "px";
    items()[0].focus();
  }

  function close(refocus) {
    if (menu.hidden) { return; }
    menu.hidden = true;
    if (opener) {
      if (opener.getAttribute("aria-haspopup")) { opener.setAttribute("aria-expanded", "false"); }
      if (refocus && document.body.contains(opener)) { opener.focus(); }
    }
    opener = null;
  }

  function place(source, event) {
    if (event && event.pageX) { return [event.pageX, event.pageY]; }
    var box = source.getBoundingClientRect();
    return [box.left + window.scrollX, box.bottom + window.scrollY + 2];
  }

  document.addEventListener("contextmenu", function (event) {
    var bar = event.target.closest && event.target.closest(".tl-track .bar, .tl-track .tl-incident");
    if (!bar) { return; }
    event.preventDefault();
    // A keyboard-opened context menu has no pointer position: place it under the bar.
    var at = event.button === 0 && !event.pageX ? place(bar) : place(bar, event);
    open(bar, at[0], at[1]);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.row-menu");
    if (button) {
      event.preventDefault();
      if (opener === button) { close(true); return; }
      var at = place(button);
      open(button, at[0], at[1]);
      return;
    }
    if (!menu.contains(event.target)) { close(false); }
  });

  menu.addEventListener("keydown", function (event) {
    var list = items();
    var at = list.indexOf(document.activeElement);
    if (event.key === "ArrowDown") { list[(at + 1) % list.length].focus(); }
    else if (event.key === "ArrowUp") { list[(at - 1 + list.length) % list.length].focus(); }
    else if (event.key === "Home") { list[0].focus(); }
    else if (event.key === "End") { list[list.length - 1].focus(); }
    else if (event.key === "Escape" || event.key === "Tab") { close(true); }
    else { return; }
    event.preventDefault();
  });

  window.addEventListener("resize", function () { close(false); });
  document.body.addEventListener("htmx:beforeSwap", function () { close(false); });

  Array.prototype.slice.call(document.querySelectorAll("dialog")).forEach(function (box) {
    box.querySelectorAll("[data-close]").forEach(function (button) {
      button.addEventListener("click", function () { box.close(); });
    });
  });
})();
