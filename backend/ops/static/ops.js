/* The fleet page's charts: ECharts (served by the backend), data from /api/v1/ops/fleet/charts.
   No inline script (the pages' Content-Security-Policy forbids it); the data comes with the
   session cookie, so technicians see their regions' figures only. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var history = document.getElementById("kiosk-history");
  if (history) {
    fetch(history.dataset.src, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (rows) {
        rows.reverse();
        var c = echarts.init(history);
        c.setOption({
          animation: false,
          title: { text: history.title, left: 10, top: 6, textStyle: { fontSize: 14 } },
          tooltip: { trigger: "axis" },
          legend: { top: 6, right: 10 },
          grid: { left: 50, right: 50, top: 50, bottom: 30, containLabel: true },
          xAxis: { type: "time" },
          yAxis: [{ type: "value", name: "条", minInterval: 1 }, { type: "value", name: "GB" }],
          series: [
            { name: "待发事件", type: "line", showSymbol: false,
              data: rows.map(function (h) { return [h.ts, h.body.outbox_depth]; }) },
            { name: "磁盘可用", type: "line", yAxisIndex: 1, showSymbol: false,
              data: rows.map(function (h) { return [h.ts, Math.round(h.body.disk_free_bytes / 1e8) / 10]; }) }
          ]
        });
        history.dataset.rendered = "1";
      })
      .catch(function (err) { history.textContent = "健康记录加载失败：" + err; });
  }
  var box = document.getElementById("charts");
  if (!box) { return; }
  var dark = document.body.classList.contains("wall");
  function chart(id, option) {
    var el = document.getElementById(id);
    var c = echarts.init(el, dark ? "dark" : null, { renderer: "canvas" });
    option.title = Object.assign({ text: el.title, left: 10, top: 6, textStyle: { fontSize: 14 } }, option.title || {});
    option.grid = Object.assign({ left: 50, right: 20, top: 50, bottom: 40, containLabel: true }, option.grid || {});
    option.tooltip = option.tooltip || { trigger: "axis" };
    option.animation = false;
    var empty = (option.series || []).every(function (x) { return !x.data || x.data.length === 0; });
    if (empty) {
      option.graphic = { type: "text", left: "center", top: "middle", style: { text: "暂无数据", fontSize: 16, fill: "#9ca3af" } };
    }
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
    el.dataset.rendered = "1";
    return c;
  }
  function hour(s) { return s.slice(11, 16); }
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (d) {
      chart("chart-online", {
        xAxis: { type: "time" },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: [{ name: "在线率", type: "line", showSymbol: false, areaStyle: {},
          data: d.online_rate.map(function (p) { return [p.ts, p.rate === null ? null : Math.round(p.rate * 1000) / 10]; }) }]
      });
      chart("chart-transactions", {
        legend: { top: 6, right: 10 },
        xAxis: { type: "category", data: d.transactions.map(function (p) { return hour(p.hour); }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: "办理会话", type: "bar", data: d.transactions.map(function (p) { return p.sessions; }) },
          { name: "提交申请", type: "bar", data: d.transactions.map(function (p) { return p.applications; }) }
        ]
      });
      var names = { card_reader: "读卡器", printer: "打印机", camera: "摄像头" };
      var codes = { absent: "未连接", fault: "故障", paper_out: "缺纸", degraded: "降级" };
      chart("chart-faults", {
        tooltip: { trigger: "item" },
        series: [{ name: "故障", type: "pie", radius: ["35%", "65%"], top: 30,
          data: d.faults.map(function (f) { return { name: (names[f.device] || f.device) + (codes[f.code] || " " + f.code), value: f.count }; }) }]
      });
      chart("chart-satisfaction-region", {
        xAxis: { type: "value", min: 1, max: 5 },
        yAxis: { type: "category", data: d.satisfaction_by_region.map(function (r) { return r.region; }) },
        series: [{ name: "平均满意度", type: "bar", label: { show: true, position: "right" },
          data: d.satisfaction_by_region.map(function (r) { return r.mean; }) }]
      });
      chart("chart-satisfaction-item", {
        xAxis: { type: "value", min: 1, max: 5 },
        yAxis: { type: "category", data: d.satisfaction_by_item.map(function (r) { return r.item; }) },
        series: [{ name: "平均满意度", type: "bar", label: { show: true, position: "right" },
          data: d.satisfaction_by_item.map(function (r) { return r.mean; }) }]
      });
      box.dataset.loaded = "1";
    })
    .catch(function (err) { box.dataset.error = String(err); box.textContent = "图表数据加载失败：" + err; });
})();
