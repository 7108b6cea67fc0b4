// Warn while the form is filled in when a named asset holds confidential or restricted data.
// The options carry data-sensitivity computed on the server from the level's rank and is_restricted.
(function () {
  "use strict";
  const input = document.querySelector("[data-asset-input]");
  const list = document.getElementById("asset-options");
  const warning = document.getElementById("sensitive-warning");
  if (!input || !list || !warning) {
    return;
  }
  const sensitivity = new Map();
  for (const option of list.options) {
    if (option.dataset.sensitivity) {
      sensitivity.set(option.value.toLowerCase(), option.dataset.sensitivity);
    }
  }
  function update() {
    const names = input.value.split(",").map((name) => name.trim()).filter(Boolean);
    const restricted = names.filter((name) => sensitivity.get(name.toLowerCase()) === "restricted");
    const confidential = names.filter((name) => sensitivity.get(name.toLowerCase()) === "confidential");
    warning.textContent = "";
    warning.hidden = !(restricted.length || confidential.length);
    warning.classList.toggle("restricted", restricted.length > 0);
    if (restricted.length) {
      warning.append(
        "Restricted data: " + restricted.join(", ") +
        ". The incident will be restricted: only the team, security leads and people granted it can see it. ",
      );
    }
    if (confidential.length) {
      warning.append("Confidential data: " + confidential.join(", ") + ". Keep details on a need-to-know basis.");
    }
  }
  input.addEventListener("input", update);
  input.addEventListener("change", update);
  update();
})();
