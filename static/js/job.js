// Import job page: poll the job's JSON while it is queued or running, show its progress, and reload
// the page once it is done or failed so the counts (or the error) appear.
(function () {
  "use strict";
  var panel = document.getElementById("job-status");
  if (!panel) {
    return;
  }
  var url = panel.getAttribute("data-status-url");
  var badge = document.getElementById("job-status-badge");
  var text = document.getElementById("job-progress-text");
  var bar = document.getElementById("job-progress");
  var labels = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };
  var delay = 1000;

  function show(job) {
    if (badge) {
      badge.textContent = labels[job.status] || job.status;
      badge.className = "badge " + job.status;
    }
    if (text) {
      text.textContent = job.progress + "%";
    }
    if (bar) {
      bar.setAttribute("aria-valuenow", String(job.progress));
      bar.firstElementChild.style.width = job.progress + "%";
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // The server may be restarting: back off, but keep watching.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
