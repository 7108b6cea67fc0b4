/* The asset page's lineage graph: columns by distance (upstream left, downstream right), drawn with
   Plotly from the JSON the page embeds (json_script). Clicking a node opens that asset. */
(function () {
  "use strict";

  var container = document.getElementById("lineage-graph");
  var source = document.getElementById("lineage-data");
  if (!container || !source) {
    return;
  }
  var graph = JSON.parse(source.textContent);
  if (graph.nodes.length <= 1) {
    var empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No lineage recorded yet: add a link below to show where this asset's data comes from and goes.";
    container.appendChild(empty);
    return;
  }
  // The page loads plotly.js (4.8 MB) only when there is a graph to draw.
  if (typeof Plotly === "undefined") {
    return;
  }

  // Plotly's text is not HTML-escaped for us; names come from users, so escape before drawing.
  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var LEVEL_COLOURS = { 0: "#94a3b8", 10: "#15803d", 20: "#1e40af", 30: "#c2410c", 40: "#7f1d1d" };
  function colour(node) {
    if (node.restricted) {
      return "#7f1d1d";
    }
    var ranks = Object.keys(LEVEL_COLOURS).map(Number).sort(function (a, b) { return a - b; });
    var chosen = LEVEL_COLOURS[0];
    ranks.forEach(function (rank) {
      if (node.level_rank >= rank) {
        chosen = LEVEL_COLOURS[rank];
      }
    });
    return chosen;
  }

  var byId = {};
  graph.nodes.forEach(function (node) { byId[node.id] = node; });

  var annotations = graph.edges
    .filter(function (edge) { return byId[edge.source] && byId[edge.target]; })
    .map(function (edge) {
      var from = byId[edge.source];
      var to = byId[edge.target];
      return {
        x: to.x, y: to.y, ax: from.x, ay: from.y,
        xref: "x", yref: "y", axref: "x", ayref: "y",
        showarrow: true, arrowhead: 3, arrowsize: 1.2, arrowwidth: 1.4, arrowcolor: "#94a3b8",
        standoff: 14, startstandoff: 14, text: "",
        hovertext: escapeHtml(to.name + " " + edge.label + " " + from.name)
      };
    });

  var nodes = {
    type: "scatter",
    mode: "markers+text",
    x: graph.nodes.map(function (n) { return n.x; }),
    y: graph.nodes.map(function (n) { return n.y; }),
    text: graph.nodes.map(function (n) { return escapeHtml(n.name); }),
    textposition: "bottom center",
    customdata: graph.nodes.map(function (n) { return n.url; }),
    hovertext: graph.nodes.map(function (n) {
      return escapeHtml(n.name) + "<br>" + escapeHtml(n.kind + " · " + n.environment + " · " + n.team) +
        "<br>Effective: " + escapeHtml(n.level) + (n.retired ? "<br>Retired" : "");
    }),
    hoverinfo: "text",
    marker: {
      size: graph.nodes.map(function (n) { return n.center ? 26 : 18; }),
      color: graph.nodes.map(colour),
      symbol: graph.nodes.map(function (n) { return n.center ? "diamond" : "circle"; }),
      line: { width: 2, color: "#ffffff" }
    }
  };

  var columns = graph.nodes.map(function (n) { return n.x; });
  var minX = Math.min.apply(null, columns);
  var maxX = Math.max.apply(null, columns);
  var tickValues = [];
  for (var x = minX; x <= maxX; x += 1) {
    tickValues.push(x);
  }
  var layout = {
    margin: { l: 20, r: 20, t: 20, b: 40 },
    showlegend: false,
    hovermode: "closest",
    annotations: annotations,
    xaxis: {
      tickvals: tickValues,
      ticktext: tickValues.map(function (v) {
        return v === 0 ? "this asset" : (v < 0 ? -v + " up" : v + " down");
      }),
      zeroline: false, showgrid: false, range: [minX - 0.6, maxX + 0.6], fixedrange: false
    },
    yaxis: { visible: false, zeroline: false, showgrid: false },
    plot_bgcolor: "#ffffff",
    paper_bgcolor: "#ffffff"
  };
  Plotly.newPlot(container, [nodes], layout, { displaylogo: false, responsive: true });
  container.on("plotly_click", function (event) {
    var point = event.points && event.points[0];
    if (point && point.customdata) {
      window.location.assign(point.customdata);
    }
  });
})();
