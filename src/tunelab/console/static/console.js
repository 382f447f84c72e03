// tunelab console: copy/download buttons, log follow, and the Plotly charts
// (data from the server's charts.json / metrics.json, refreshed while the job runs).
(function () {
  "use strict";
  var PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  var LAYOUT = {
    margin: { l: 56, r: 16, t: 10, b: 44 },
    font: { family: "system-ui, sans-serif", size: 12, color: "#1d2433" },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    xaxis: { gridcolor: "#edf0f5", zeroline: false }, yaxis: { gridcolor: "#edf0f5", zeroline: false },
    legend: { orientation: "h", y: -0.22 },
  };
  var COLORS = ["#2457c5", "#d97706", "#059669", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"];

  function layout(extra) { return Object.assign({}, JSON.parse(JSON.stringify(LAYOUT)), extra || {}); }
  function empty(message) {
    return layout({ xaxis: { visible: false }, yaxis: { visible: false },
      annotations: [{ text: message, showarrow: false, font: { size: 13, color: "#5b6475" }, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] });
  }
  function draw(id, traces, lay) {
    var node = document.getElementById(id);
    if (node && window.Plotly) { window.Plotly.react(node, traces, lay, PLOT_CONFIG); }
  }
  function note(id, text) { var n = document.getElementById(id); if (n) { n.textContent = text; } }

  // -- copy and download ---------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-download]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy") || button.getAttribute("data-download"));
    if (!source) { return; }
    var text = source.textContent;
    if (button.hasAttribute("data-copy")) {
      var done = function () { var label = button.textContent; button.textContent = "Copied"; setTimeout(function () { button.textContent = label; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); }
      else {
        var area = document.createElement("textarea"); area.value = text; document.body.appendChild(area);
        area.select(); document.execCommand("copy"); area.remove(); done();
      }
    } else {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text + "\n"], { type: "application/json" }));
      link.download = button.getAttribute("data-filename") || "tuning-job.json";
      document.body.appendChild(link); link.click(); link.remove();
    }
  });

  // -- fields whose message slot is not empty are marked invalid (the live check swaps slots) --
  function syncInvalid() {
    document.querySelectorAll(".field-error[id]").forEach(function (slot) {
      var invalid = slot.textContent.trim() !== "";
      document.querySelectorAll('[aria-describedby~="' + slot.id + '"]').forEach(function (field) {
        if (invalid) { field.setAttribute("aria-invalid", "true"); } else { field.removeAttribute("aria-invalid"); }
      });
    });
  }
  var syncPending = false;
  function syncSoon() {  // once per batch of swaps (a live check swaps hundreds of slots)
    if (syncPending) { return; }
    syncPending = true;
    setTimeout(function () { syncPending = false; syncInvalid(); }, 0);
  }
  document.addEventListener("htmx:oobAfterSwap", syncSoon);
  document.addEventListener("htmx:afterSettle", syncSoon);

  // -- the log follows its end ---------------------------------------------------------
  function follow() {
    document.querySelectorAll("pre[data-follow]").forEach(function (pre) { pre.scrollTop = pre.scrollHeight; });
  }
  document.addEventListener("htmx:afterSwap", follow);

  // -- the tuning job's charts ----------------------------------------------------------
  var parallelSets = [];
  function drawParallel() {
    var select = document.getElementById("parallel-definition");
    var index = select ? Math.max(0, select.selectedIndex) : 0;
    var set = parallelSets[index];
    if (!set) { draw("chart-parallel", [], empty("No finished training jobs yet")); note("note-parallel", ""); return; }
    var dims = set.dimensions.map(function (d) {
      var dim = { label: d.label, values: d.values };
      if (d.tickvals) { dim.tickvals = d.tickvals; dim.ticktext = d.ticktext; }
      return dim;
    });
    draw("chart-parallel", [{ type: "parcoords", dimensions: dims,
      line: { color: set.color, colorscale: "Viridis", showscale: true, reversescale: objectiveType === "Minimize" } }],
      layout({ margin: { l: 60, r: 60, t: 36, b: 20 } }));
    note("note-parallel", set.shown < set.total ? "Showing " + set.shown + " of " + set.total + " jobs (the best ones and an even sample)." : "");
  }
  var objectiveType = "Maximize";

  function drawCharts(data) {
    var o = data.objective;
    objectiveType = o.type;
    if (o.total === 0) { draw("chart-objective", [], empty("No training job has reported its objective yet")); }
    else {
      var defs = Array.from(new Set(o.definition));
      var traces = defs.map(function (name, k) {
        var idx = o.definition.map(function (d, i) { return d === name ? i : -1; }).filter(function (i) { return i >= 0; });
        return { type: o.shown > 1000 ? "scattergl" : "scatter", mode: "markers", name: name || "training jobs",
          x: idx.map(function (i) { return o.x[i]; }), y: idx.map(function (i) { return o.y[i]; }),
          text: idx.map(function (i) { return o.job[i]; }), hovertemplate: "%{text}<br>" + data.metric + " %{y}<extra></extra>",
          marker: { color: COLORS[k % COLORS.length], size: 7, opacity: 0.8 } };
      });
      traces.push({ type: "scatter", mode: "lines", name: "best so far", x: o.best_x, y: o.best_y,
        line: { shape: "hv", color: "#111827", width: 2 }, hoverinfo: "skip" });
      var lastJob = o.x.length ? Math.max.apply(null, o.x) : 1;
      draw("chart-objective", traces, layout({ xaxis: { title: { text: "training job (launch order)" }, gridcolor: "#edf0f5", dtick: lastJob <= 12 ? 1 : null },
        yaxis: { title: { text: data.metric + " (" + o.type.toLowerCase() + ")" }, gridcolor: "#edf0f5" } }));
    }
    note("note-objective", o.shown < o.total ? "Showing " + o.shown + " of " + o.total + " jobs (every improvement, the best ones and an even sample)." : "");

    parallelSets = data.parallel;
    var select = document.getElementById("parallel-definition");
    if (select) {
      var current = select.value;
      select.innerHTML = "";
      parallelSets.forEach(function (set) { var opt = document.createElement("option"); opt.textContent = set.definition; select.appendChild(opt); });
      if (current) { select.value = current; }
      select.parentElement.hidden = parallelSets.length < 2;
      select.onchange = drawParallel;
    }
    drawParallel();

    var c = data.curves;
    if (!c.series.length) { draw("chart-curves", [], empty("No intermediate values reported yet")); }
    else {
      var lastEpoch = Math.max.apply(null, c.series.map(function (s) { return s.x[s.x.length - 1]; }));
      var curves = c.series.map(function (s, k) {
        var color = s.best ? "#111827" : (s.early ? "#9333ea" : COLORS[k % COLORS.length]);
        return { type: "scatter", mode: "lines+markers", name: s.job + (s.early ? " (stopped early)" : ""), x: s.x, y: s.y,
          line: { color: color, width: s.best ? 3 : 1.5, dash: s.early ? "dot" : "solid" },
          marker: { size: s.x.map(function (_, i) { return i === s.x.length - 1 && s.early ? 10 : 4; }),
            symbol: s.x.map(function (_, i) { return i === s.x.length - 1 && s.early ? "x" : "circle"; }), color: color },
          hovertemplate: s.job + "<br>epoch %{x}: %{y}<extra></extra>" };
      });
      draw("chart-curves", curves, layout({ showlegend: false,
        xaxis: { title: { text: "epoch (report number)" }, gridcolor: "#edf0f5", dtick: lastEpoch <= 12 ? 1 : null },
        yaxis: { title: { text: data.metric }, gridcolor: "#edf0f5" } }));
    }
    note("note-curves", "Best job in black, stopped-early jobs dotted and marked ×; hover for names" + (c.shown < c.total ? "; " + c.shown + " of " + c.total + " jobs (the best and the latest)." : "."));

    var imp = data.importance.items;
    if (!imp.length) { draw("chart-importance", [], empty("Needs at least " + data.importance.min_jobs + " training jobs with an objective")); }
    else {
      var sorted = imp.slice().reverse();
      draw("chart-importance", [{ type: "bar", orientation: "h", x: sorted.map(function (i) { return i.value; }),
        y: sorted.map(function (i) { return i.name; }), marker: { color: "#2457c5" },
        text: sorted.map(function (i) { return (100 * i.value).toFixed(0) + "%"; }), textposition: "auto",
        hovertemplate: "%{y}: %{x:.3f}<extra></extra>" }],
        layout({ margin: { l: 120, r: 16, t: 10, b: 40 }, xaxis: { range: [0, 1], title: { text: "ε² (share of variance)" }, gridcolor: "#edf0f5" } }));
    }
  }

  function poll(node, render, every) {
    var url = node.getAttribute("data-url");
    var live = node.getAttribute("data-live") === "true";
    function tick() {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) { return; }
        render(data);
        node.setAttribute("data-rendered", "true");
        if (data.live || live) { live = data.live; setTimeout(tick, 1000 * (data.refresh_seconds || every / 1000)); }
      });
    }
    tick();
  }

  // a training job's metrics: against the report number (the k-th report of a metric is
  // step k; reports printed within a millisecond stay apart) or the seconds since start
  var metricsData = null;
  function metricsAxis() {
    var select = document.getElementById("metrics-axis");
    return select && select.value === "seconds" ? "seconds" : "report";
  }
  function drawMetrics(data) {
    metricsData = data;
    if (!data.series.length) { draw("chart-metrics", [], empty("No metric reported yet")); return; }
    var axis = metricsAxis();
    var reports = Math.max.apply(null, data.series.map(function (s) { return s.x.length; }));
    draw("chart-metrics", data.series.map(function (s, k) {
      return { type: "scatter", mode: s.x.length > 200 ? "lines" : "lines+markers", name: s.name,
        x: axis === "seconds" ? s.seconds : s.x, y: s.y,
        customdata: s.x.map(function (step, i) { return [step, s.seconds[i]]; }),
        line: { color: COLORS[k % COLORS.length] }, yaxis: k === 0 ? "y" : "y2",
        hovertemplate: s.name + "<br>report %{customdata[0]}, %{customdata[1]} s: %{y}<extra></extra>" };
    }), layout({ uirevision: axis,  // a refresh keeps the user's zoom; another axis resets it
      xaxis: { title: { text: axis === "seconds" ? "seconds since start" : "report number" }, gridcolor: "#edf0f5",
        dtick: axis === "report" && reports <= 12 ? 1 : null },
      yaxis: { title: { text: data.series[0].name }, gridcolor: "#edf0f5" },
      yaxis2: { overlaying: "y", side: "right", showgrid: false, visible: data.series.length > 1 } }));
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "metrics-axis" && metricsData) { drawMetrics(metricsData); }
  });

  // -- a definition's heading follows its name field as the user types --------------
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.name) { return; }
    document.querySelectorAll("[data-name-of]").forEach(function (label) {
      if (label.getAttribute("data-name-of") === field.name) {
        label.textContent = field.value.trim() ? ": " + field.value.trim() : "";
      }
    });
  });

  function start() {
    follow();
    var charts = document.getElementById("charts");
    if (charts) { poll(charts, drawCharts, 3000); }
    var metrics = document.getElementById("chart-metrics");
    if (metrics) { poll(metrics, drawMetrics, 3000); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
