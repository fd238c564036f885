// The support lead's dashboard: filters → GET /api/admin/dashboard → ECharts (served from this origin) and tables.
// Every word comes from knowledge/messages.yaml (#dashboard-copy); data goes into the page only as textContent or
// as ECharts text (drawn on a canvas), never as HTML.
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("dashboard-copy").textContent);
  const $ = (id) => document.getElementById(id);
  const say = (name, values) => String(T[name]).replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? String(values[k]) : m));
  const COLORS = { bot: "#00a870", person: "#006eff", abandoned: "#f53f3f", up: "#00a870", down: "#f53f3f", line1: "#ff7d00", line2: "#722ed1" };
  const instances = {};
  window.__dashboard = { data: null, charts: instances, loads: 0 };

  // ------------------------------------------------------------------ formatting

  const none = T.none;
  const pct = (x) => (x === null || x === undefined ? none : say("percent", { n: (x * 100).toFixed(1) }));
  const ms = (x) => (x === null || x === undefined ? none : say("ms", { n: Number(x).toFixed(1) }));
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return none;
    if (seconds < 60) return say("seconds", { n: Math.round(seconds) });
    return say("minutes", { m: Math.floor(seconds / 60), s: Math.round(seconds % 60) });
  }
  const shortDay = (day) => day.slice(5);  // 2026-11-30 → 11-30
  function bucketLabel(label, unit) {  // "<10", "10-20", ">=500" (the API's) → the page's words
    const scale = unit === "min" ? 60 : 1;
    const n = (v) => Number(v) / scale;
    if (label.startsWith("<")) return say("bucket_" + unit + "_lt", { n: n(label.slice(1)) });
    if (label.startsWith(">=")) return say("bucket_" + unit + "_ge", { n: n(label.slice(2)) });
    const [a, b] = label.split("-");
    return say("bucket_" + unit, { a: n(a), b: n(b) });
  }

  // ------------------------------------------------------------------ filters

  function beijingToday() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
    return parts;  // en-CA formats as YYYY-MM-DD
  }
  function daysBefore(day, n) {
    const d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - n);
    return d.toISOString().slice(0, 10);
  }
  function initialFilters() {
    const q = new URLSearchParams(location.search);
    const to = q.get("to") || beijingToday();
    $("to").value = to;
    $("from").value = q.get("from") || daysBefore(to, 29);
    $("audience").value = q.get("audience") || "";
  }
  function query() {
    const q = new URLSearchParams({ from: $("from").value, to: $("to").value });
    if ($("audience").value) q.set("audience", $("audience").value);
    return q.toString();
  }

  // ------------------------------------------------------------------ pieces of the page

  function showProblem(text) {
    const p = $("problem");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function kpis(charts) {
    const s = (name) => charts[name].summary;
    const items = [
      ["conversations", T.kpi_conversations, String(s("volume").conversations)],
      ["bot_share", T.kpi_bot_share, pct(s("outcomes").bot_share)],
      ["abandoned_share", T.kpi_abandoned_share, pct(s("outcomes").abandoned_share)],
      ["fallback_rate", T.kpi_fallback_rate, pct(s("quality").fallback_rate)],
      ["clarify_rate", T.kpi_clarify_rate, pct(s("quality").clarify_rate)],
      ["handoffs", T.kpi_handoffs, s("handoffs").taken + " / " + s("handoffs").requested],
      ["median_wait", T.kpi_median_wait, duration(s("waits").median_wait_s)],
      ["up_share", T.kpi_up_share, pct(s("feedback").up_share)],
      ["csat", T.kpi_csat, pct(s("csat").satisfied_share)],
      ["latency", T.kpi_latency, ms(s("latency").p50_ms) + " / " + ms(s("latency").p99_ms)],
    ];
    const box = $("kpis");
    box.replaceChildren();
    for (const [key, label, value] of items) {
      const card = document.createElement("div");
      card.className = "kpi";
      card.dataset.kpi = key;
      const v = document.createElement("strong");
      v.textContent = value;
      const l = document.createElement("span");
      l.textContent = label;
      card.append(v, l);
      box.append(card);
    }
  }

  function topTable(name, chart) {
    const body = $("chart-" + name).querySelector("tbody");
    body.replaceChildren();
    chart.rows.forEach(([question, count, share], k) => {
      const tr = document.createElement("tr");
      for (const value of [String(k + 1), question, String(count), pct(share)]) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      body.append(tr);
    });
    if (!chart.rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 4;
      td.className = "empty";
      td.textContent = T.no_data;
      tr.append(td);
      body.append(tr);
    }
    $("note-" + name).textContent = say("questions_note", { n: chart.summary.questions });
  }

  // ------------------------------------------------------------------ charts (ECharts options)

  const GRID = { left: 48, right: 16, top: 36, bottom: 28, containLabel: true };
  const axisDays = (chart) => ({ type: "category", data: chart.rows.map((r) => shortDay(r[0])) });
  const legend = { top: 0, textStyle: { fontSize: 12 } };
  const bars = (chart, specs, stack) => specs.map(([col, name, color]) => ({
    type: "bar", name, stack, itemStyle: { color }, barMaxWidth: 28,
    data: chart.rows.map((r) => r[chart.columns.indexOf(col)]),
  }));
  const histogram = (chart, unit, name, color) => ({
    grid: GRID, tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: chart.rows.map((r) => bucketLabel(r[0], unit)), axisLabel: { fontSize: 11, interval: 0 },
      name: unit === "ms" ? T.axis_ms : "", nameLocation: "end", nameGap: 6, nameTextStyle: { fontSize: 11, color: "#86909c", align: "right", verticalAlign: "top", padding: [24, 0, 0, 0] } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", name, data: chart.rows.map((r) => r[1]), itemStyle: { color }, barMaxWidth: 40 }],
  });

  const OPTIONS = {
    volume: (c) => ({
      grid: GRID, legend, tooltip: { trigger: "axis" }, xAxis: axisDays(c), yAxis: { type: "value", minInterval: 1 },
      series: bars(c, [["bot", T.series_bot, COLORS.bot], ["person", T.series_person, COLORS.person],
        ["abandoned", T.series_abandoned, COLORS.abandoned]], "outcome"),
    }),
    outcomes: (c) => ({
      tooltip: { trigger: "item" }, legend: { bottom: 0, textStyle: { fontSize: 12 } },
      series: [{
        type: "pie", radius: ["38%", "66%"], center: ["50%", "46%"],
        label: { formatter: (p) => p.name + "\n" + pct(c.rows[p.dataIndex][2]), fontSize: 12 },
        data: c.rows.map(([o, n]) => ({ name: T["series_" + o], value: n, itemStyle: { color: COLORS[o] } })),
      }],
    }),
    quality: (c) => ({
      grid: GRID, legend, tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? none : v.toFixed(1) + "%") },
      xAxis: axisDays(c), yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: [["fallback_rate", T.series_fallback_rate, COLORS.line1], ["clarify_rate", T.series_clarify_rate, COLORS.line2]]
        .map(([col, name, color]) => ({
          type: "line", name, smooth: true, showSymbol: false, itemStyle: { color }, connectNulls: true,
          data: c.rows.map((r) => (r[c.columns.indexOf(col)] === null ? null : +(r[c.columns.indexOf(col)] * 100).toFixed(2))),
        })),
    }),
    handoffs: (c) => ({
      grid: GRID, legend, tooltip: { trigger: "axis" }, xAxis: axisDays(c), yAxis: { type: "value", minInterval: 1 },
      series: bars(c, [["requested", T.series_requested, "#ff9a2e"], ["taken", T.series_taken, COLORS.person]]),
    }),
    waits: (c) => histogram(c, "min", T.series_waits, COLORS.person),
    feedback: (c) => ({
      grid: GRID, legend, tooltip: { trigger: "axis" }, xAxis: axisDays(c), yAxis: { type: "value", minInterval: 1 },
      series: bars(c, [["thumbs_up", T.series_thumbs_up, COLORS.up], ["thumbs_down", T.series_thumbs_down, COLORS.down]], "thumbs"),
    }),
    csat: (c) => ({
      grid: GRID, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: c.rows.map((r) => say("score", { n: r[0] })) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", name: T.series_ratings, barMaxWidth: 40, data: c.rows.map((r) => ({
        value: r[1], itemStyle: { color: ["#f53f3f", "#ff7d00", "#fadc19", "#9fdb1d", "#00a870"][r[0] - 1] },
      })) }],
    }),
    latency: (c) => histogram(c, "ms", T.series_replies, "#14c9c9"),
  };

  const NOTES = {
    outcomes: () => T.help_outcomes,
    waits: (c) => say("wait_note", { median: duration(c.summary.median_wait_s), p90: duration(c.summary.p90_wait_s), n: c.summary.taken }),
    csat: (c) => say("csat_average", { n: c.summary.average === null ? none : c.summary.average, count: c.summary.ratings }),
    latency: (c) => say("latency_note", { p50: ms(c.summary.p50_ms), p99: ms(c.summary.p99_ms), n: c.summary.replies }),
  };

  function draw(name, chart) {
    const note = NOTES[name];
    if (note) $("note-" + name).textContent = note(chart);
    if (!window.echarts) return;
    const el = $("chart-" + name);
    if (!instances[name]) instances[name] = window.echarts.init(el, null, { renderer: "canvas" });
    const option = OPTIONS[name](chart);
    option.animation = false;
    instances[name].setOption(option, true);
  }

  // ------------------------------------------------------------------ loading

  async function load() {
    const q = query();
    history.replaceState(null, "", "?" + q);
    for (const a of document.querySelectorAll("a.csv")) a.href = "/api/admin/dashboard/" + a.id.slice(4) + ".csv?" + q;
    $("scope").textContent = T.loading;
    document.body.classList.add("loading");
    try {
      const r = await fetch("/api/admin/dashboard?" + q, { credentials: "same-origin", headers: { accept: "application/json" } });
      const data = await r.json();
      if (!r.ok) throw new Error(data.message || String(r.status));
      showProblem(window.echarts ? "" : T.echarts_missing);
      const f = data.filter;
      $("scope").textContent = say("scope", { from: f.from, to: f.to, days: f.days });
      kpis(data.charts);
      for (const [name, chart] of Object.entries(data.charts)) {
        if (name === "top_questions" || name === "top_misses") topTable(name, chart);
        else draw(name, chart);
      }
      window.__dashboard.data = data;
    } catch (err) {
      showProblem(say("load_failed", { error: err.message }));
      $("scope").textContent = "";
    } finally {
      document.body.classList.remove("loading");
      window.__dashboard.loads += 1;
    }
  }

  initialFilters();
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  for (const id of ["audience"]) $(id).addEventListener("change", load);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => Object.values(instances).forEach((c) => c.resize()), 100);
  });
  load();
})();
