// graph.js — the interaction graph in plain SVG: candidates on a circle, typed, weighted,
// directed edges (no build step, no dependencies).
//
// API (also on window.LGDGraph):
//   drawGraph(svgEl, graph, opts)
//       graph: the report's `graph` ({nodes: [pid], edges: [{src, dst, type, weight}]}).
//       opts: {size: px (default 420), names: {pid: display name},
//              types: [edge types to show] (default all), colors: {type: css colour},
//              onEdgeClick: function(edge), onNodeClick: function(pid)}
//       Parallel edges of different types between one pair are drawn as separate arcs;
//       stroke width grows with sqrt(weight); a legend lists the types drawn.
//   TYPES, COLORS: the edge types and their default colours.
(function (global) {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const TYPES = ["responds", "supports", "builds_on", "challenges", "interrupts", "invites",
    "questions"];
  const COLORS = {responds: "#9aa4b1", supports: "#2a9d4b", builds_on: "#1f77b4",
    challenges: "#e08a1e", interrupts: "#d62728", invites: "#8e44ad", questions: "#17becf"};

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function drawGraph(svg, graph, opts) {
    opts = opts || {};
    const size = opts.size || 420, c = size / 2, R = size / 2 - 60, nodeR = 20;
    const colors = Object.assign({}, COLORS, opts.colors || {});
    const show = opts.types || TYPES;
    const names = opts.names || {};
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", `0 0 ${size} ${size + 40}`);
    svg.setAttribute("width", size);
    svg.setAttribute("height", size + 40);
    svg.classList.add("lgd-graph");
    const defs = el("defs", {}, svg);
    for (const t of TYPES) {
      const m = el("marker", {id: `lgd-arrow-${t}`, viewBox: "0 0 10 10", refX: 9, refY: 5,
        markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse"}, defs);
      el("path", {d: "M 0 0 L 10 5 L 0 10 z", fill: colors[t]}, m);
    }
    const pos = {};
    graph.nodes.forEach((p, i) => {
      const a = 2 * Math.PI * i / graph.nodes.length;
      pos[p] = [c + R * Math.sin(a), c - R * Math.cos(a)];
    });
    const maxW = Math.max(1, ...graph.edges.map((e) => e.weight));
    const drawn = new Set();
    for (const e of graph.edges) {
      if (show.indexOf(e.type) < 0 || !pos[e.src] || !pos[e.dst]) continue;
      drawn.add(e.type);
      const [x1, y1] = pos[e.src], [x2, y2] = pos[e.dst];
      const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len;
      // one arc per type: bend to the left of src->dst by an amount set by the type
      const bend = 14 + 9 * TYPES.indexOf(e.type);
      const mx = (x1 + x2) / 2 - uy * bend, my = (y1 + y2) / 2 + ux * bend;
      const sx = x1 + ux * nodeR, sy = y1 + uy * nodeR, tx = x2 - ux * nodeR, ty = y2 - uy * nodeR;
      const path = el("path", {d: `M ${sx.toFixed(1)} ${sy.toFixed(1)} Q ${mx.toFixed(1)} ` +
        `${my.toFixed(1)} ${tx.toFixed(1)} ${ty.toFixed(1)}`, fill: "none",
        stroke: colors[e.type], "stroke-width": (1 + 4 * Math.sqrt(e.weight / maxW)).toFixed(2),
        "stroke-opacity": 0.85, "marker-end": `url(#lgd-arrow-${e.type})`,
        class: `lgd-edge lgd-edge-${e.type}`, "data-src": e.src, "data-dst": e.dst}, svg);
      el("title", {}, path).textContent = `${e.src} ${e.type} ${e.dst} ×${e.weight}`;
      if (opts.onEdgeClick) {
        path.style.cursor = "pointer";
        path.addEventListener("click", () => opts.onEdgeClick(e));
      }
    }
    for (const p of graph.nodes) {
      const [x, y] = pos[p];
      const g = el("g", {class: "lgd-node", "data-pid": p}, svg);
      el("circle", {cx: x, cy: y, r: nodeR, fill: "#fff", stroke: "#333", "stroke-width": 1.5},
        g);
      const t = el("text", {x, y, "text-anchor": "middle", "dominant-baseline": "middle",
        "font-size": 11}, g);
      t.textContent = names[p] || p;
      if (opts.onNodeClick) {
        g.style.cursor = "pointer";
        g.addEventListener("click", () => opts.onNodeClick(p));
      }
    }
    let lx = 6;
    for (const t of TYPES.filter((t) => drawn.has(t))) {
      el("rect", {x: lx, y: size + 14, width: 10, height: 10, fill: colors[t]}, svg);
      const label = el("text", {x: lx + 13, y: size + 23, "font-size": 10}, svg);
      label.textContent = t;
      lx += 18 + 6.2 * t.length;
    }
  }

  global.LGDGraph = {drawGraph, TYPES, COLORS};
})(typeof window !== "undefined" ? window : this);
