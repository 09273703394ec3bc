(function () {
  "use strict";
  var table = document.getElementById("repos");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var state = { col: -1, dir: 1 };
  rows.forEach(function (row, i) { row.setAttribute("data-index", String(i)); });

  function key(row, col) {
    var cell = row.cells[col];
    var value = cell.getAttribute("data-sort");
    return value === null ? cell.textContent.trim().toLowerCase() : value;
  }
  function compare(a, b, col) {
    var x = key(a, col), y = key(b, col);
    var nx = Number(x), ny = Number(y);
    if (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) { return nx - ny; }
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  function sortBy(col) {
    state.dir = state.col === col ? -state.dir : 1;
    state.col = col;
    var sorted = rows.slice().sort(function (a, b) {
      return compare(a, b, col) * state.dir ||
        Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index"));
    });
    sorted.forEach(function (row) { tbody.appendChild(row); });
    headers.forEach(function (th, i) {
      th.setAttribute("aria-sort", i !== col ? "none" : (state.dir > 0 ? "ascending" : "descending"));
    });
  }
  headers.forEach(function (th, col) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    th.setAttribute("aria-sort", "none");
    button.addEventListener("click", function () { sortBy(col); });
  });

  var controls = document.getElementById("controls");
  var text = document.getElementById("filter-repo");
  var verdict = document.getElementById("filter-verdict");
  var shown = document.getElementById("shown");
  function applyFilter() {
    var query = text.value.trim().toLowerCase();
    var wanted = verdict.value;
    var count = 0;
    rows.forEach(function (row) {
      var repo = (row.getAttribute("data-repo") || "").toLowerCase();
      var visible = (!query || repo.indexOf(query) !== -1) &&
        (!wanted || row.getAttribute("data-verdict") === wanted);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " repos shown";
  }
  text.addEventListener("input", applyFilter);
  verdict.addEventListener("change", applyFilter);
  controls.hidden = false;
  applyFilter();

  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
}());
