// Dashboard extension: a live radar per candidate (from PortraitUpdate events), the
// interaction graph with typed edges, the evidence behind a score on click, and
// side-by-side comparison (click a candidate's name to overlay them on the others).
// Evidence and the graph come from the partial report, refreshed every few seconds.
"use strict";

(function () {
  const S = window.lgdDashboard;
  const sid = location.pathname.split("/").pop();
  const P = { scores: {}, ranks: {}, at: -1, drawnAt: -2, report: null, compare: null, svgs: {} };
  S.portraits = P;

  function labels() {
    const zh = (S.language || "zh").startsWith("zh");
    return zh ? LGDRadar.LABELS_ZH : LGDRadar.LABELS_EN;
  }

  function layout() {
    const box = document.getElementById("extra");
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    box.innerHTML = `<h2>画像 · Portraits <small>(点击维度查看依据 · click a dimension for its
      evidence; 点击姓名对比 · click a name to compare)</small></h2>
      <div id="radars" class="radars"></div>
      <div class="graph-row"><svg id="igraph" width="420" height="420"></svg>
      <div id="evidence" class="evidence">—</div></div>`;
    for (const p of S.people) {
      const cell = document.createElement("div");
      cell.className = "radar";
      cell.innerHTML = `<div class="rname"></div><svg width="260" height="260"></svg>`;
      cell.querySelector(".rname").textContent = p.name;
      cell.querySelector(".rname").onclick = () => { P.compare = P.compare === p.id ? null : p.id; P.drawnAt = -2; };
      document.getElementById("radars").appendChild(cell);
      P.svgs[p.id] = cell.querySelector("svg");
    }
  }

  function showEvidence(pid, dim) {
    const box = document.getElementById("evidence");
    const portrait = P.report && P.report.portraits[pid];
    const name = (S.people.find((p) => p.id === pid) || {}).name || pid;
    if (!portrait) { box.textContent = "…"; return; }
    const d = portrait.dimensions[dim];
    const rows = d.evidence.map((e) => `<li><b>${fmt(e.at)}</b> ${esc(e.kind)}: ${esc(e.detail)}</li>`).join("");
    box.innerHTML = `<h3>${esc(name)} · ${esc(labels()[dim] || dim)}: ${d.score === null ? "n/a" : d.score.toFixed(0)}` +
      `${d.rank ? ` (#${d.rank})` : ""}</h3><ul>${rows}</ul>`;
  }

  function draw() {
    for (const p of S.people) {
      const scores = P.scores[p.id] || {};
      const compare = P.compare && P.compare !== p.id ? [{ scores: P.scores[P.compare] || {}, color: "#999" }] : [];
      LGDRadar.drawRadar(P.svgs[p.id], scores, {
        labels: labels(), size: 260, color: S.color[p.id], compare,
        onAxisClick: (dim) => showEvidence(p.id, dim),
      });
    }
    if (P.report) {
      const names = {}; S.people.forEach((p) => names[p.id] = p.name);
      LGDGraph.drawGraph(document.getElementById("igraph"), P.report.graph, { names, size: 420 });
    }
  }

  async function refreshReport() {
    const r = await fetch(`/api/sessions/${sid}/report`, { headers: { Authorization: `Bearer ${lgdAuth.token}` } });
    if (!r.ok) return;
    P.report = await r.json();
    S.language = P.report.session.language;
    for (const [pid, portrait] of Object.entries(P.report.portraits)) {
      if (P.at < 0) {  // before the first live update (e.g. an ended session): the report's
        P.scores[pid] = {};
        for (const [dim, d] of Object.entries(portrait.dimensions)) P.scores[pid][dim] = d.score;
      }
    }
    P.drawnAt = -2;
  }

  S.extensions.push({
    apply(state, ev) {
      if (ev.type === "PortraitUpdate") { P.scores = ev.scores; P.ranks = ev.ranks; P.at = ev.at; }
    },
    render() {
      if (!S.people.length) return;
      layout();
      if (P.drawnAt !== P.at) { draw(); P.drawnAt = P.at; }
    },
  });
  lgdAuth.ready.then(() => { refreshReport(); setInterval(refreshReport, 5000); });

  const fmt = (t) => `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(Math.floor(t % 60)).padStart(2, "0")}`;
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
})();
