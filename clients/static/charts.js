// Small SVG charts for the dashboard: bars, lines with optional bands, a weekday x hour grid.
// Our own code (DESIGN.md: no copied third-party code, no CDN); every chart scales to its box.

const NS = "http://www.w3.org/2000/svg";
const W = 320;
const H = 140;
const PAD = { left: 28, right: 8, top: 10, bottom: 22 };

function node(name, attrs = {}, text = null) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  if (text !== null) element.textContent = text;
  return element;
}

function frame(container, label, points) {
  const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
  svg.dataset.points = String(points);
  container.replaceChildren(svg);
  return svg;
}

function shortDay(bucket) {
  return bucket ? bucket.slice(5).replace("-", "/") : "";
}

function axis(svg, labels, max, x) {
  const bottom = H - PAD.bottom;
  svg.append(node("line", { x1: PAD.left, y1: bottom, x2: W - PAD.right, y2: bottom, class: "axis" }));
  svg.append(node("text", { x: PAD.left - 4, y: PAD.top + 4, class: "tick", "text-anchor": "end" }, String(max)));
  svg.append(node("text", { x: PAD.left - 4, y: bottom, class: "tick", "text-anchor": "end" }, "0"));
  const step = Math.max(1, Math.ceil(labels.length / 5));
  const last = labels.length - 1;
  labels.forEach((label, i) => {
    if (i % step === 0 ? last - i >= step / 2 || i === last : i === last) {
      const anchor = i === last && labels.length > 1 ? "end" : "middle";
      svg.append(node("text", { x: x(i) + (anchor === "end" ? 4 : 0), y: H - 6, class: "tick", "text-anchor": anchor }, shortDay(label)));
    }
  });
}

function niceMax(values, floor) {
  const max = Math.max(floor, ...values.filter((v) => v !== null && v !== undefined));
  return max <= 10 ? Math.ceil(max) : Math.ceil(max / 10) * 10;
}

/** Bars per day; `data-total` is the sum, so a test (or a person) can see it move. */
export function barChart(container, labels, values, { label, unit = "" } = {}) {
  const svg = frame(container, label, values.length);
  const total = values.reduce((sum, v) => sum + (v || 0), 0);
  svg.dataset.total = String(Math.round(total * 10) / 10);
  const max = niceMax(values, 1);
  const plotW = W - PAD.left - PAD.right;
  const band = plotW / Math.max(values.length, 1);
  const x = (i) => PAD.left + band * (i + 0.5);
  const y = (v) => H - PAD.bottom - ((H - PAD.top - PAD.bottom) * v) / max;
  values.forEach((v, i) => {
    if (!v) return;
    const bar = node("rect", { x: x(i) - band * 0.35, y: y(v), width: band * 0.7, height: H - PAD.bottom - y(v), class: "bar" });
    bar.append(node("title", {}, `${labels[i]}: ${v}${unit}`));
    svg.append(bar);
  });
  axis(svg, labels, max, x);
}

/** Lines over days (gaps where a value is null); `bands` shade ranges like severity bands. */
export function lineChart(container, labels, lines, { label, min = 0, max = null, bands = [] } = {}) {
  const all = lines.flatMap((line) => line.values);
  const points = all.filter((v) => v !== null && v !== undefined).length;
  const svg = frame(container, label, points);
  const top = max ?? niceMax(all, 1);
  const plotW = W - PAD.left - PAD.right;
  const x = (i) => PAD.left + (labels.length > 1 ? (plotW * i) / (labels.length - 1) : plotW / 2);
  const y = (v) => H - PAD.bottom - ((H - PAD.top - PAD.bottom) * (v - min)) / (top - min);
  for (const b of bands) {
    const y1 = y(Math.min(b.to, top));
    const y2 = y(Math.max(b.from, min));
    const rect = node("rect", { x: PAD.left, y: y1, width: plotW, height: Math.max(0, y2 - y1), class: `band band-${b.level}` });
    rect.append(node("title", {}, `${b.name} ${b.from}–${b.to}`));
    svg.append(rect);
  }
  lines.forEach((line, n) => {
    let path = "";  // joins the days that have a value: a line across the days between
    line.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      path += `${path ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      const dot = node("circle", { cx: x(i), cy: y(v), r: 3, class: `dot series-${n}` });
      dot.append(node("title", {}, `${line.name} ${labels[i]}: ${v}`));
      svg.append(dot);
    });
    if (path) svg.append(node("path", { d: path, class: `line series-${n}` }));
  });
  axis(svg, labels, top, x);
}

/** Weekday x hour counts, darker for more; `days` labels the rows (Monday first). */
export function heatmap(container, days, matrix, { label } = {}) {
  const total = matrix.flat().reduce((sum, v) => sum + v, 0);
  const svg = frame(container, label, total);
  svg.setAttribute("viewBox", `0 0 ${W} 130`);
  svg.dataset.total = String(total);
  const max = Math.max(1, ...matrix.flat());
  const cellW = (W - 34) / 24;
  const cellH = 14;
  matrix.forEach((row, d) => {
    svg.append(node("text", { x: 28, y: 12 + d * (cellH + 2) + cellH - 3, class: "tick", "text-anchor": "end" }, days[d]));
    row.forEach((count, hour) => {
      const cell = node("rect", {
        x: 32 + hour * cellW, y: 8 + d * (cellH + 2), width: cellW - 1.5, height: cellH, rx: 2,
        class: "cell", "fill-opacity": count ? (0.15 + 0.85 * count / max).toFixed(2) : "0.05",
      });
      cell.append(node("title", {}, `${days[d]} ${hour}:00 — ${count}`));
      svg.append(cell);
    });
  });
  for (const hour of [0, 6, 12, 18, 23]) {
    svg.append(node("text", { x: 32 + hour * cellW + cellW / 2, y: 126, class: "tick", "text-anchor": "middle" }, `${hour}h`));
  }
}
