// radar.js — twelve-dimension radar charts in plain SVG (no build step, no dependencies).
//
// API (also on window.LGDRadar):
//   drawRadar(svgEl, scores, opts)
//       scores: {dimension: 0..100 | null}; null is drawn at 0 and labelled "n/a".
//       opts: {labels: {dimension: text}, size: px (default 300), color: css colour,
//              compare: [{scores, color}] (extra outlines, for side-by-side comparison),
//              onAxisClick: function(dimension) (e.g. to show the evidence behind a score)}
//   applyPortraitUpdate(svgs, update, opts)
//       svgs: {pid: svgEl}; update: a PortraitUpdate as a dict ({at, scores: {pid: {dim:
//       score}}, ranks}). Redraws every candidate's radar; returns the pids drawn.
//   DIMENSIONS: the twelve keys in report order; LABELS_ZH / LABELS_EN: default labels.
(function (global) {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const DIMENSIONS = ["participation", "idea_contribution", "evidence", "logical_structure",
    "turn_taking", "support", "teamwork", "leadership", "influence", "stress_resilience",
    "emotional_stability", "rapport"];
  const LABELS_ZH = {participation: "发言贡献", idea_contribution: "观点贡献", evidence: "论据支撑",
    logical_structure: "逻辑结构", turn_taking: "发言秩序", support: "支持他人", teamwork: "团队协作",
    leadership: "引导讨论", influence: "影响力", stress_resilience: "抗压能力",
    emotional_stability: "情绪稳定", rapport: "沟通亲和力"};
  const LABELS_EN = {participation: "participation", idea_contribution: "ideas",
    evidence: "evidence", logical_structure: "logic", turn_taking: "turn-taking",
    support: "support", teamwork: "teamwork", leadership: "leadership", influence: "influence",
    stress_resilience: "resilience", emotional_stability: "stability", rapport: "rapport"};

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function drawRadar(svg, scores, opts) {
    opts = opts || {};
    const size = opts.size || 300, c = size / 2, r = size / 2 - 52;
    const keys = DIMENSIONS.filter((k) => k in scores).concat(
      Object.keys(scores).filter((k) => DIMENSIONS.indexOf(k) < 0));
    const labels = opts.labels || LABELS_EN;
    const n = keys.length;
    const pt = (i, v) => [c + r * v / 100 * Math.sin(2 * Math.PI * i / n),
                          c - r * v / 100 * Math.cos(2 * Math.PI * i / n)];
    const poly = (vals) => vals.map((v, i) => pt(i, v).map((x) => x.toFixed(1)).join(","))
      .join(" ");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
    svg.setAttribute("width", size);
    svg.setAttribute("height", size);
    svg.classList.add("lgd-radar");
    for (const ring of [25, 50, 75, 100]) {
      el("polygon", {points: poly(keys.map(() => ring)), fill: "none", stroke: "#ccc"}, svg);
    }
    keys.forEach((k, i) => {
      const [x, y] = pt(i, 100);
      el("line", {x1: c, y1: c, x2: x, y2: y, stroke: "#ddd"}, svg);
      const [lx, ly] = pt(i, 120);
      const na = scores[k] === null || scores[k] === undefined;
      const t = el("text", {x: lx, y: ly, "font-size": 10, "text-anchor": "middle",
        "dominant-baseline": "middle", fill: na ? "#999" : "#333", "data-dimension": k,
        style: opts.onAxisClick ? "cursor:pointer" : ""}, svg);
      t.textContent = (labels[k] || k) + (na ? " n/a" : ` ${Math.round(scores[k])}`);
      if (opts.onAxisClick) t.addEventListener("click", () => opts.onAxisClick(k));
    });
    for (const other of opts.compare || []) {
      el("polygon", {points: poly(keys.map((k) => other.scores[k] || 0)), fill: "none",
        stroke: other.color || "#e08a1e", "stroke-width": 1.5, "stroke-dasharray": "4 3",
        class: "lgd-radar-compare"}, svg);
    }
    const color = opts.color || "#286ec8";
    el("polygon", {points: poly(keys.map((k) => scores[k] || 0)), fill: color,
      "fill-opacity": 0.25, stroke: color, "stroke-width": 2, class: "lgd-radar-shape"}, svg);
  }

  function applyPortraitUpdate(svgs, update, opts) {
    const drawn = [];
    for (const pid in update.scores) {
      if (svgs[pid]) {
        drawRadar(svgs[pid], update.scores[pid], opts);
        drawn.push(pid);
      }
    }
    return drawn;
  }

  global.LGDRadar = {drawRadar, applyPortraitUpdate, DIMENSIONS, LABELS_ZH, LABELS_EN};
})(typeof window !== "undefined" ? window : this);
