/* The dashboard's charts: Chart.js (vendored beside this file) draws each
   <canvas data-chart="id"> from the JSON in #dashboard-charts, which the page renders from
   the server's figures (templates/admin/dashboard/_charts.html). No inline script: the
   console's Content-Security-Policy allows only files served by the app. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart === "undefined") return;
  var palette = ["#1f6fb2", "#1e7f4f", "#d08700", "#b42318", "#6b4fbb", "#0e8a8a", "#8a6d3b", "#56616d"];
  var specs = JSON.parse(source.textContent || "[]");
  window.Chart.defaults.font.family =
    '-apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  window.dashboardCharts = {};
  specs.forEach(function (spec) {
    var canvas = document.querySelector('canvas[data-chart="' + spec.id + '"]');
    if (!canvas) return;
    var round = spec.type === "doughnut";
    var datasets = spec.datasets.map(function (set, i) {
      var colour = palette[i % palette.length];
      return {
        label: set.label,
        data: set.data,
        backgroundColor: round ? palette.slice(0, set.data.length) : colour,
        borderColor: round ? "#fff" : colour,
        borderWidth: round ? 2 : 2,
        tension: 0.25,
        pointRadius: spec.labels.length > 45 ? 0 : 2,
        fill: false
      };
    });
    var scales = {};
    if (!round) {
      var value = { beginAtZero: true, stacked: !!spec.stacked, ticks: { precision: 0 } };
      var category = { stacked: !!spec.stacked, ticks: { autoSkip: true, maxRotation: 0 } };
      scales = spec.horizontal ? { x: value, y: category } : { x: category, y: value };
    }
    window.dashboardCharts[spec.id] = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: { legend: { display: datasets.length > 1 || round, position: "bottom" } }
      }
    });
  });
})();
