// The reports page: each .chart-card fetches its series and draws it with Chart.js.
(function () {
  "use strict";
  const COLORS = ["#2f6fb3", "#e0803a", "#3a9e5c", "#b33b3b", "#7a5bb3"];

  function draw(card) {
    fetch(card.dataset.chart, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((data) => {
        const empty = data.datasets.every((d) => d.data.every((v) => !v));
        card.querySelector(".chart-empty").hidden = !empty;
        // Amounts dwarf counts: the funnel's second dataset gets its own axis.
        const twoAxes = data.key === "sales_funnel";
        new window.Chart(card.querySelector("canvas"), {
          type: data.kind,
          data: {
            labels: data.labels,
            datasets: data.datasets.map((d, i) => ({
              label: d.label,
              data: d.data,
              backgroundColor: COLORS[i % COLORS.length],
              borderColor: COLORS[i % COLORS.length],
              yAxisID: twoAxes && i === 1 ? "y1" : "y",
            })),
          },
          options: {
            responsive: true,
            animation: false,
            scales: twoAxes
              ? { y: { beginAtZero: true }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } }
              : { y: { beginAtZero: true } },
          },
        });
      });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".chart-card").forEach(draw);
  });
})();
