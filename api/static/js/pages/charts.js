// Small SVG charts written for these pages: a line with a forecast band, and vertical bars.
// Every chart is role="img" with a sentence saying what it shows, so it is not colour or shape only.
import { isNum, svg } from "./util.js";

const PAD = { top: 14, right: 16, bottom: 28, left: 36 };

function frame(width, height, label) {
  return svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
    preserveAspectRatio: "xMidYMid meet", class: "chart-svg",
  }, svg("title", {}, label));
}

function yAxis(root, scaleY, width, ticks) {
  ticks.forEach((t) => {
    const y = scaleY(t);
    root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "grid-line" }));
    root.append(svg("text", { x: PAD.left - 6, y: y + 4, class: "axis-label", "text-anchor": "end" }, String(t)));
  });
}

function shortDate(ms) {
  return new Date(ms).toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

// points: [{t: ms, y: percent}], forecast: {t, y, low, high} | null, passMark: percent | null
export function scoreChart({ points, forecast, passMark, label, width = 760, height = 230 }) {
  const root = frame(width, height, label);
  const lows = points.map((p) => p.y).concat(forecast && isNum(forecast.low) ? [forecast.low] : [], isNum(passMark) ? [passMark] : []);
  const floor = Math.max(0, Math.floor((Math.min(...lows) - 5) / 10) * 10);
  const times = points.map((p) => p.t).concat(forecast ? [forecast.t] : []);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 86400000);
  const scaleX = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (width - PAD.left - PAD.right);
  const scaleY = (v) => PAD.top + (1 - (Math.max(floor, Math.min(100, v)) - floor) / (100 - floor)) * (height - PAD.top - PAD.bottom);
  const step = 100 - floor > 50 ? 25 : 10;
  const ticks = [];
  for (let t = 100; t >= floor; t -= step) ticks.push(t);
  yAxis(root, scaleY, width, ticks);
  if (isNum(passMark)) {
    const y = scaleY(passMark);
    root.append(svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "pass-line" }));
    root.append(svg("text", { x: width - PAD.right, y: y - 4, class: "axis-label", "text-anchor": "end" }, `pass ${passMark}%`));
  }
  const last = points[points.length - 1];
  if (forecast && last && isNum(forecast.low) && isNum(forecast.high)) {
    const band = `M${scaleX(last.t)},${scaleY(last.y)} L${scaleX(forecast.t)},${scaleY(forecast.high)} `
      + `L${scaleX(forecast.t)},${scaleY(forecast.low)} Z`;
    root.append(svg("path", { d: band, class: "band" }));
    if (isNum(forecast.y)) {
      root.append(svg("line", {
        x1: scaleX(last.t), y1: scaleY(last.y), x2: scaleX(forecast.t), y2: scaleY(forecast.y), class: "forecast-line",
      }));
      root.append(svg("circle", { cx: scaleX(forecast.t), cy: scaleY(forecast.y), r: 4, class: "forecast-dot" }));
    }
  }
  if (points.length) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${scaleX(p.t).toFixed(1)},${scaleY(p.y).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, class: "score-line" }));
    points.forEach((p) => root.append(svg("circle", { cx: scaleX(p.t), cy: scaleY(p.y), r: 3, class: "score-dot" },
      svg("title", {}, `${shortDate(p.t)}: ${p.y.toFixed(0)}%`))));
  }
  (width < 500 ? [t0, t1] : [t0, (t0 + t1) / 2, t1]).forEach((t, i, all) => {
    const anchor = i === 0 ? "start" : i === all.length - 1 ? "end" : "middle";
    root.append(svg("text", { x: scaleX(t), y: height - 8, class: "axis-label", "text-anchor": anchor }, shortDate(t)));
  });
  return root;
}

// bars: [{label, value, className?}]; values are counts (or percents with max given)
export function barChart({ bars, label, max, height = 170, format = String, width: wanted = 432 }) {
  const width = Math.max(wanted, bars.length * 34 + PAD.left);
  const root = frame(width, height, label);
  const top = Math.max(max || 0, ...bars.map((b) => b.value || 0), 1);
  const plotH = height - PAD.top - PAD.bottom;
  const slot = (width - PAD.left - 8) / bars.length;
  bars.forEach((bar, i) => {
    const value = bar.value || 0;
    const barH = (value / top) * plotH;
    const barW = Math.min(slot * 0.7, 56);
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const y = PAD.top + plotH - barH;
    root.append(svg("rect", { x, y, width: barW, height: Math.max(barH, value ? 1 : 0), rx: 3,
      class: `bar ${bar.className || ""}` }, svg("title", {}, `${bar.label}: ${format(value)}`)));
    root.append(svg("text", { x: x + barW / 2, y: y - 4, class: "bar-value", "text-anchor": "middle" }, format(value)));
    root.append(svg("text", { x: x + barW / 2, y: height - 8, class: "axis-label", "text-anchor": "middle" }, bar.label));
  });
  root.append(svg("line", { x1: PAD.left - 4, x2: width - 4, y1: PAD.top + plotH, y2: PAD.top + plotH, class: "axis-line" }));
  return root;
}

// A compact line of weekly averages: [{label, value|null}]
export function trendLine({ series: all, label, width = 432, height = 120 }) {
  const root = frame(width, height, label);
  const first = all.findIndex((s) => isNum(s.value));
  const series = first > 0 ? all.slice(first) : all;  // weeks before the first score say nothing
  const known = series.filter((s) => isNum(s.value));
  const floor = known.length ? Math.max(0, Math.floor((Math.min(...known.map((s) => s.value)) - 10) / 10) * 10) : 0;
  const scaleX = (i) => PAD.left + (i / Math.max(1, series.length - 1)) * (width - PAD.left - PAD.right);
  const scaleY = (v) => 8 + (1 - (v - floor) / (100 - floor)) * (height - 8 - 22);
  yAxis(root, scaleY, width, [floor, Math.round((floor + 100) / 2), 100]);
  let d = "";
  series.forEach((s, i) => {
    if (!isNum(s.value)) return;
    d += `${d ? "L" : "M"}${scaleX(i).toFixed(1)},${scaleY(s.value).toFixed(1)} `;
    root.append(svg("circle", { cx: scaleX(i), cy: scaleY(s.value), r: 2.5, class: "score-dot" },
      svg("title", {}, `week of ${s.label}: ${s.value.toFixed(1)}%`)));
  });
  if (d) root.prepend(svg("path", { d, class: "score-line" }));
  if (series.length) {
    root.append(svg("text", { x: scaleX(0), y: height - 4, class: "axis-label", "text-anchor": "start" }, series[0].label));
    root.append(svg("text", { x: scaleX(series.length - 1), y: height - 4, class: "axis-label", "text-anchor": "end" },
      series[series.length - 1].label));
  }
  if (!known.length) root.append(svg("text", { x: width / 2, y: height / 2, class: "axis-label", "text-anchor": "middle" }, "no scores yet"));
  return root;
}

// A horizontal progress meter with its number beside it (for modules and mastery).
export function meter(value, max, label) {
  const share = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  return svg("svg", { viewBox: "0 0 100 8", preserveAspectRatio: "none", class: "meter", role: "img", "aria-label": label },
    svg("rect", { x: 0, y: 0, width: 100, height: 8, rx: 4, class: "meter-track" }),
    svg("rect", { x: 0, y: 0, width: (share * 100).toFixed(1), height: 8, rx: 4, class: "meter-fill" }));
}
