// The dashboard's charts: each [data-testid="chart"] holds its series as JSON in
// data-series ({kind, x: [unix seconds of each UTC day], series: [{label, values, unit}]});
// uPlot draws them on a canvas that carries the chart's summary as its accessible name.
// Without this script the tables of numbers below each chart stay open.
(function () {
  "use strict";

  var PALETTE = ["#0b5cad", "#b3261e", "#1f7a3a", "#7a3fa0", "#a35200", "#00707a", "#4a5360"];
  var FILLS = ["#0b5cad99", "#b3261e99", "#1f7a3a99", "#7a3fa099", "#a3520099", "#00707a99", "#4a536099"];
  var HALF_DAY = 43200;
  var COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8, 1e9];

  function utc(ts) {
    return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
  }

  var dayLabel = uPlot.fmtDate("{YYYY}-{MM}-{DD}");
  var tickLabel = uPlot.fmtDate("{MM}-{DD}");

  function height(el) {
    return el.clientWidth < 500 ? 200 : 260;
  }

  function draw(el) {
    var spec = JSON.parse(el.getAttribute("data-series"));
    var bars = spec.kind === "bars" ? uPlot.paths.bars({ size: [0.7, 40] }) : null;
    var series = [{ label: "Day", value: function (u, v) { return v == null ? "–" : dayLabel(utc(v)); } }];
    spec.series.forEach(function (s, i) {
      var unit = s.unit ? " " + s.unit : "";
      series.push({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        fill: bars ? FILLS[i % FILLS.length] : undefined,
        paths: bars || undefined,
        points: { show: !bars, size: 5 },
        spanGaps: false,
        value: function (u, v) { return v == null ? "–" : v + unit; }
      });
    });
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var first = spec.x[0];
    var last = spec.x[spec.x.length - 1];
    var opts = {
      width: Math.floor(el.clientWidth),
      height: height(el),
      tzDate: utc,
      series: series,
      scales: {
        x: { time: true, range: function () { return [first - HALF_DAY, last + HALF_DAY]; } },
        y: { range: function (u, min, max) { return [0, Math.max(max || 0, 1) * 1.1]; } }
      },
      axes: [
        { values: function (u, splits) { return splits.map(function (v) { return tickLabel(utc(v)); }); } },
        { size: 56, incrs: COUNT_STEPS }
      ],
      cursor: { drag: { x: false, y: false } }
    };
    var plot = new uPlot(opts, data, el);
    var canvas = el.querySelector("canvas");
    if (canvas) {
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", el.getAttribute("data-summary") || "");
    }
    el.setAttribute("data-drawn", "true");
    var width = Math.floor(el.clientWidth);
    new ResizeObserver(function () {
      var now = Math.floor(el.clientWidth);
      if (now !== width) {
        width = now;
        plot.setSize({ width: now, height: height(el) });
      }
    }).observe(el);
    // The chart is drawn: its numbers fold away behind "Show the numbers".
    var numbers = el.parentElement && el.parentElement.querySelector("details.numbers");
    if (numbers) {
      numbers.open = false;
    }
  }

  function start() {
    if (typeof uPlot === "undefined") {
      return;
    }
    document.querySelectorAll('[data-testid="chart"][data-series]').forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
