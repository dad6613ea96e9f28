// The assessor's own panel (their link's token names them): one-key bookmarks, notes on a
// candidate, dimension and moment, the 1-5 rating grid (saved as it is filled in, so a
// reload loses nothing), submission, and the wash-up once everyone has submitted.
(function () {
  "use strict";
  const sid = location.pathname.split("/").pop();
  const DIMS = ["participation", "idea_contribution", "evidence", "logical_structure",
    "turn_taking", "support", "teamwork", "leadership", "influence", "stress_resilience",
    "emotional_stability", "rapport"];
  const $ = (id) => document.getElementById(id);
  const api = (path, opts = {}) => fetch(`/api/sessions/${sid}${path}`, {
    ...opts, headers: { Authorization: `Bearer ${lgdAuth.token}`, "Content-Type": "application/json" } });
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
  let me = null, drawn = null;  // the grid is redrawn only when its state changes

  async function load() {
    const r = await api("/ratings");
    if (!r.ok) return;
    me = await r.json();
    if (!me.me) return;  // the shared dashboard link: no panel
    $("assess-panel").hidden = false;
    const cands = me.candidates;
    if (!$("note-cand").options.length) {
      for (const c of cands) $("note-cand").add(new Option(c, c));
      for (const d of DIMS) $("note-dim").add(new Option(d, d));
    }
    const submitted = me.submitted.includes(me.me);
    if (drawn !== String(submitted)) drawGrid(cands, submitted);
    $("submit-ratings").disabled = submitted;
    $("assess-state").textContent = submitted ? (me.everyone_submitted ? "全部已提交 all submitted" : "已提交，等待其他评委 submitted, waiting") : "";
    document.body.dataset.submitted = String(submitted);
    await notes();
    if (me.everyone_submitted) await washup();
  }

  function drawGrid(cands, submitted) {
    drawn = String(submitted);
    $("ratings").tHead.innerHTML = "<tr><th></th>" + cands.map((c) => `<th>${esc(c)}</th>`).join("") + "</tr>";
    $("ratings").tBodies[0].innerHTML = DIMS.map((d) => `<tr><td>${d}</td>` + cands.map((c) => {
      const v = ((me.mine[c] || {})[d]) || "";
      const opts = ["", 1, 2, 3, 4, 5].map((x) => `<option${String(x) === String(v) ? " selected" : ""}>${x}</option>`).join("");
      return `<td><select data-c="${esc(c)}" data-d="${d}"${submitted ? " disabled" : ""}>${opts}</select></td>`;
    }).join("") + "</tr>").join("");
    for (const sel of $("ratings").querySelectorAll("select")) sel.onchange = rate;
  }

  async function rate(e) {
    const s = e.target;
    const value = s.value ? Number(s.value) : null;
    await api("/ratings", { method: "PUT", body: JSON.stringify({ [s.dataset.c]: { [s.dataset.d]: value } }) });
    document.body.dataset.saved = String(Date.now());
  }

  async function notes() {
    const r = await api("/notes");
    if (!r.ok) return;
    const all = await r.json();
    const mine = all[me.me] || [];
    $("notes").innerHTML = mine.map((n) => `<li data-kind="${n.kind}">${n.at.toFixed(1)}s ` +
      `${n.kind === "bookmark" ? "🔖" : "📝"} ${esc(n.candidate || "")} ${esc(n.dimension || "")} ${esc(n.text)}</li>`).join("");
    document.body.dataset.notes = String(mine.length);
  }

  async function washup() {
    const r = await api("/washup");
    if (!r.ok) return;
    const w = await r.json();
    const rows = [];
    let agreed = 0;
    for (const [pid, dims] of Object.entries(w.candidates)) {
      for (const [d, x] of Object.entries(dims)) {
        if (!Object.keys(x.ratings).length) continue;
        if (x.consensus) agreed += 1;
        rows.push(`<tr class="${x.flag ? "flag" : ""}" data-c="${esc(pid)}" data-d="${d}"><td>${esc(pid)}</td><td>${d}</td>` +
          `<td>${Object.entries(x.ratings).map(([a, v]) => `${esc(a)} ${v}`).join(", ")}</td>` +
          `<td>${x.mean}</td><td>${x.machine ?? "–"}${x.machine_score === null ? "" : ` <small>(${x.machine_score})</small>`}</td>` +
          `<td>${x.flag ? "⚑ " + x.evidence.map((e) => `${e.at}s ${esc(e.detail)}`).join("; ") : ""}</td>` +
          `<td class="consensus">${consensusCell(x)}</td></tr>`);
      }
    }
    $("washup").innerHTML = `<h3>合议 · Wash-up</h3><table><tr><th>候选人</th><th>维度</th><th>评分 ratings</th>` +
      `<th>均值 mean</th><th>机器 machine 1–5 (0–100)</th><th>分歧 flag</th><th>共识 consensus</th></tr>${rows.join("")}</table>`;
    for (const b of $("washup").querySelectorAll("button[data-agree]")) b.onclick = agree;
    document.body.dataset.washup = String(rows.length);
    document.body.dataset.consensus = String(agreed);
  }

  // The lead records the group's final rating with its reason; the others see it.
  function consensusCell(x) {
    if (x.consensus) return `<b>${x.consensus.rating}</b> ${esc(x.consensus.reason)}`;
    if (!me.lead) return "–";
    const opts = [1, 2, 3, 4, 5].map((v) => `<option>${v}</option>`).join("");
    return `<select class="cc">${opts}</select> <input class="cr" size="16" placeholder="理由 reason"> ` +
      `<button data-agree>记录 record</button>`;
  }

  async function agree(e) {
    const row = e.target.closest("tr");
    await api(`/consensus/${encodeURIComponent(row.dataset.c)}`, { method: "POST", body: JSON.stringify({
      dimension: row.dataset.d, rating: Number(row.querySelector(".cc").value),
      reason: row.querySelector(".cr").value }) });
    await washup();
  }

  async function bookmark() {
    await api("/notes", { method: "POST", body: JSON.stringify({ kind: "bookmark" }) });
    await notes();
  }

  $("bookmark").onclick = bookmark;
  document.addEventListener("keydown", (e) => {
    if (e.key === "b" && e.target === document.body && me && me.me) bookmark();
  });
  $("note-add").onclick = async () => {
    await api("/notes", { method: "POST", body: JSON.stringify({
      kind: "note", candidate: $("note-cand").value, dimension: $("note-dim").value || null,
      text: $("note-text").value }) });
    $("note-text").value = "";
    await notes();
  };
  $("submit-ratings").onclick = async () => { await api("/ratings/submit", { method: "POST" }); await load(); };
  lgdAuth.ready.then(load);
  setInterval(() => {
    if (!me || !me.me) return;
    if (!me.everyone_submitted) load();
    else if (!me.lead) washup();  // the lead's consensus shows up for the others
  }, 3000);
})();
