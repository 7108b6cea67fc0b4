/* The metrics dashboards: draw each chart from the figure its page embeds (json_script) with the
   plotly.js the project serves, and open the list a bar, point or cell counts when it is clicked
   (its URL is the point's customdata, built on the server). */
(function () {
  "use strict";

  if (typeof Plotly === "undefined") {
    return;
  }
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };

  document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(element, figure.data, figure.layout, config).then(function () {
      element.setAttribute("data-drawn", "true");
    });
    element.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      var url = point && point.customdata;
      // Only our own pages: the URLs are built on the server, but never follow anything else.
      if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.assign(url);
      }
    });
  });
})();
