// HR's sessions view: every session with its assessment status, from GET /api/sessions
// (filters as query parameters), and the assessors' calibration, GET /api/calibration.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const num = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(0)}%`);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  const auth = () => ({ headers: { Authorization: `Bearer ${lgdAuth.token}` } });
  const FIELDS = ["state", "since", "until", "role", "assessor", "q"];

  function query() {
    const q = new URLSearchParams();
    for (const id of FIELDS) if ($(id).value) q.set(id, $(id).value);
    for (const id of ["assessed", "flagged"]) if ($(id).checked) q.set(id, "1");
    return q;
  }

  async function load() {
    const q = query();
    const [r, c] = await Promise.all([fetch(`/api/sessions?${q}`, auth()),
      fetch(`/api/calibration?${q}`, auth())]);
    if (!r.ok || !c.ok) { document.body.dataset.error = String(r.ok ? c.status : r.status); return; }
    delete document.body.dataset.error;
    const rows = await r.json();
    const cal = await c.json();
    $("sessions").tBodies[0].innerHTML = rows.map((s) => {
      const a = s.assessment;
      const link = `/dashboard/${encodeURIComponent(s.id)}?token=${encodeURIComponent(lgdAuth.token)}`;
      return `<tr data-session="${esc(s.id)}"><td>${esc(s.id)}</td>` +
        `<td>${esc((s.created_at || "").slice(0, 16).replace("T", " "))}</td>` +
        `<td>${esc(s.state)}</td><td>${esc(s.profile || "–")}</td>` +
        `<td>${s.participants.map((p) => esc(p.name)).join(", ")}</td>` +
        `<td>${a.assessors.map(esc).join(", ") || "–"}</td>` +
        `<td>${a.assessors.length ? `${a.submitted}/${a.assessors.length}` : "–"}</td>` +
        `<td class="${a.flags ? "flag" : ""}">${a.flags || "–"}</td><td>${a.consensus || "–"}</td>` +
        `<td><a href="${link}">看板 dashboard</a></td></tr>`;
    }).join("");
    $("count").textContent = `(${rows.length})`;
    $("calibration").tBodies[0].innerHTML = Object.entries(cal.assessors).map(([who, x]) =>
      `<tr data-assessor="${esc(who)}"><td>${esc(who)}</td><td>${x.sessions}</td><td>${x.ratings}</td>` +
      `<td>${x.leniency === null ? "–" : (x.leniency > 0 ? "+" : "") + num(x.leniency)}</td>` +
      `<td>${num(x.mean_abs_diff)}</td><td>${pct(x.exact)}</td><td>${pct(x.within_one)}</td>` +
      `<td>${num(x.vs_machine)}</td>` +
      `<td class="${x.calibrate ? "flag" : ""}">${x.calibrate ? "⚑ " + x.why.map(esc).join("; ") : "–"}</td></tr>`
    ).join("");
    document.body.dataset.loaded = String(rows.length);
    document.body.dataset.assessors = String(Object.keys(cal.assessors).length);
  }

  for (const id of [...FIELDS, "assessed", "flagged"]) $(id).addEventListener("change", load);
  lgdAuth.ready.then(load);
})();
