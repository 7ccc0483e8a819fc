// Messaging pages: clickable log rows and the dashboard's 14-day chart (data from a json_script tag).
(function () {
  document.addEventListener("click", function (event) {
    const row = event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, select")) { return; }
    window.location.href = row.dataset.href;
  });

  function drawChart() {
    const canvas = document.getElementById("messaging-chart");
    const data = document.getElementById("messaging-chart-data");
    if (!canvas || !data || typeof Chart === "undefined" || canvas.dataset.drawn) { return; }
    const chart = JSON.parse(data.textContent);
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: chart.datasets },
      options: {
        responsive: true,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawChart);
  } else {
    drawChart();
  }
})();
