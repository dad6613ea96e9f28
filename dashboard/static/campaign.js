// HR's campaign view: roles summary and one row per candidate, from GET /api/campaign
// (filters as query parameters), and the same filters on the CSV export link.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(0)}%`);
  const num = (x) => (x === null || x === undefined ? "–" : String(x));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

  function query() {
    const q = new URLSearchParams();
    for (const id of ["role", "since", "until"]) if ($(id).value) q.set(id, $(id).value);
    return q;
  }

  async function load() {
    const q = query();
    const r = await fetch(`/api/campaign?${q}`, { headers: { Authorization: `Bearer ${lgdAuth.token}` } });
    if (!r.ok) { document.body.dataset.error = String(r.status); return; }
    const data = await r.json();
    const sel = $("role");
    if (sel.options.length === 1) {
      for (const role of data.roles) sel.add(new Option(role || "(无岗位 none)", role));
    }
    $("roles").tBodies[0].innerHTML = Object.entries(data.summary).map(([role, s]) =>
      `<tr><td>${esc(role || "(none)")}</td><td>${s.sessions}</td><td>${s.candidates}</td>` +
      `<td>${pct(s.pass_rate_recommended)}</td><td>${pct(s.pass_rate_decided)}</td>` +
      `<td>${num(s.fit.median)}</td><td>${num(s.median_days_to_decision)}</td></tr>`).join("");
    $("rows").tBodies[0].innerHTML = data.rows.map((c) =>
      `<tr><td>${esc(c.name)}</td><td>${esc(c.session_id)}</td><td>${esc(c.date)}</td>` +
      `<td>${esc(c.role)}</td><td>${num(c.fit)}</td><td>${esc(c.recommendation || "–")}</td>` +
      `<td>${esc(c.decision || "–")}</td></tr>`).join("");
    $("count").textContent = `(${data.rows.length})`;
    q.set("token", lgdAuth.token);
    $("csv").href = `/api/campaign.csv?${q}`;
    document.body.dataset.loaded = String(data.rows.length);
  }

  for (const id of ["role", "since", "until"]) $(id).addEventListener("change", load);
  lgdAuth.ready.then(load);
})();
