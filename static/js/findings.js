// Findings list: a "select all" box for the bulk actions and a live count of the selection.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) {
    return;
  }
  var all = document.getElementById("select-all");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.select-finding[form=\"bulk-form\"]"));
  var count = document.getElementById("selected-count");

  function refresh() {
    var selected = boxes.filter(function (box) { return box.checked; }).length;
    if (all) {
      all.checked = selected > 0 && selected === boxes.length;
      all.indeterminate = selected > 0 && selected < boxes.length;
    }
    if (count) {
      count.textContent = selected ? selected + " selected" : "";
    }
  }

  if (all) {
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      refresh();
    });
  }
  boxes.forEach(function (box) { box.addEventListener("change", refresh); });
  form.addEventListener("submit", function (event) {
    if (!boxes.some(function (box) { return box.checked; })) {
      event.preventDefault();
      if (count) {
        count.textContent = "Select at least one finding first.";
      }
    }
  });
  refresh();
}());
