// Assessor dashboard: replays the session's events from the start over one WebSocket,
// then follows them live, so it can be opened at any moment. State is rebuilt from the
// events alone (the same ones the report is built from).
"use strict";

const q = new URLSearchParams(location.search);
// lgdAuth (/static/grant.js): the link's token exchanged for a short-lived one
const sid = location.pathname.split("/").pop();
const COLORS = ["#2a6fdb", "#e0742b", "#2f9e58", "#c23b6b", "#7b52c7", "#9a7b16", "#14879a", "#6b6b6b"];
const WINDOW_S = 90;

const S = window.lgdDashboard = {
  people: [], color: {}, clock: 0, live: false, ended: false,
  time: {}, share: {}, turns: {}, speaking: {}, speech: {},
  interruptions: [], backchannels: [], overlaps: [], events: 0, renders: 0,
  face: {}, voice: {}, reactions: [], utterances: [], acts: [], transcriptDirty: false,
  extensions: [],  // later stages register (state, event) handlers and renderers here
};

async function main() {
  await lgdAuth.ready;
  const r = await fetch(`/api/sessions/${sid}`, { headers: { Authorization: `Bearer ${lgdAuth.token}` } });
  if (!r.ok) { document.body.textContent = (await r.json()).error; return; }
  setSession(await r.json());
  connect();
  setInterval(render, 250);
  setInterval(pollConnections, 2000);
  document.getElementById("next-phase").onclick = () => fetch(`/api/sessions/${sid}/phase/next`,
    { method: "POST", headers: { Authorization: `Bearer ${lgdAuth.token}` } });
}

async function pollConnections() {
  // who is connected, and any audio the live analysis could not use (goal: none)
  const r = await fetch(`/api/sessions/${sid}`, { headers: { Authorization: `Bearer ${lgdAuth.token}` } });
  if (!r.ok) return;
  const s = await r.json();
  if (!s.stats) return;
  S.connected = new Set(s.stats.room.connected);
  S.framesLost = Object.values(s.stats.analysis_frames_lost || {}).reduce((a, b) => a + b, 0);
  S.faults = Object.values(s.stats.faults || {});
  // a server restart mid-session: the span nobody was heard stays marked
  for (const r of s.stats.restarts || [])
    S.faults.push(`server restarted: nothing analysed from ${fmt(r.from_s)} to ${r.to_s === null ? "…" : fmt(r.to_s)}`);
}

function setSession(s) {
  document.getElementById("session").textContent = s.id;
  S.language = s.language;
  for (const fmt of ["json", "csv", "html", "pdf"]) {
    const a = document.getElementById("x-" + fmt);  // the token as it is when clicked
    a.href = `/api/sessions/${s.id}/export.${fmt}`;
    a.onclick = () => { a.href = `/api/sessions/${s.id}/export.${fmt}?token=${lgdAuth.token}`; };
  }
  S.people = s.participants;
  S.people.forEach((p, i) => {
    S.color[p.id] = COLORS[i % COLORS.length];
    for (const k of ["time", "share", "turns"]) S[k][p.id] = S[k][p.id] || 0;
    S.speech[p.id] = S.speech[p.id] || [];
  });
  setState(s.state);
}

function setState(state) {
  const el = document.getElementById("state");
  el.textContent = state; el.className = "state " + state;
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/sessions/${sid}/live?token=${lgdAuth.token}`);
  ws.onmessage = (m) => apply(JSON.parse(m.data));
  ws.onclose = () => { if (!S.ended) setTimeout(connect, 2000); };
}

function reset() {
  for (const p of S.people) { S.time[p.id] = 0; S.share[p.id] = 0; S.turns[p.id] = 0; S.speech[p.id] = []; }
  S.speaking = {}; S.interruptions = []; S.backchannels = []; S.overlaps = []; S.events = 0;
  S.face = {}; S.voice = {}; S.reactions = []; S.utterances = []; S.acts = [];
}

function apply(ev) {
  switch (ev.type) {
    case "hello": reset(); setSession(ev.session); break;  // (re)connect replays from the start
    case "clock": S.clock = ev.t; S.live = ev.live; if (ev.live) setState("live"); break;
    case "ended": S.ended = true; setState("ended"); break;
    case "SpeechStarted": S.speaking[ev.who] = ev.at; break;
    case "SpeechEnded": delete S.speaking[ev.who]; S.speech[ev.who].push([ev.start, ev.end]); break;
    case "ShareUpdate":
      Object.assign(S.time, ev.speaking_time_s); Object.assign(S.share, ev.speaking_share);
      Object.assign(S.turns, ev.turns); S.clock = Math.max(S.clock, ev.at); break;
    case "Interruption": S.interruptions.push(ev); break;
    case "Backchannel": S.backchannels.push(ev); break;
    case "Overlap": S.overlaps.push(ev); break;
    case "AnalysisLag": S.lag = ev; break;
    case "PhaseStarted": S.phase = ev; break;
    // nonverbal cues (sessions whose affect policy is observe or score)
    case "FaceCue": S.face[ev.who] = ev; break;
    case "ProsodyTurn": if (ev.baseline_ready) S.voice[ev.who] = ev; break;
    case "Reaction": S.reactions.push(ev); break;
    // speech content (when ASR is on)
    case "Utterance": S.utterances.push(ev); S.transcriptDirty = true; break;
    case "Act": S.acts.push(ev); S.transcriptDirty = true; break;
  }
  if (ev.type !== "clock" && ev.type !== "hello") S.events += 1;
  for (const ext of S.extensions) if (ext.apply) ext.apply(S, ev);
}

function name(pid) { const p = S.people.find((p) => p.id === pid); return p ? p.name : pid; }
const fmt = (t) => `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(Math.floor(t % 60)).padStart(2, "0")}`;

function render() {
  S.renders += 1;
  document.getElementById("clock").textContent = fmt(S.clock);
  if (S.phase) {  // the exercise's phase and its countdown, on the session clock
    const left = Math.max(0, S.phase.planned_s - (S.clock - S.phase.at));
    document.getElementById("phase").textContent = `${S.phase.name} ${fmt(left)}`;
    document.body.dataset.phase = S.phase.name;
    document.body.dataset.left = String(Math.round(left));
  }
  const warn = document.getElementById("warn");
  const lost = Math.max(S.framesLost || 0, S.lag ? S.lag.frames_lost : 0);
  const faults = S.faults || [];
  warn.hidden = !lost && !(S.lag && S.lag.behind_s > 2) && !faults.length;
  warn.textContent = faults.length ? `⚠ ${faults.join("; ")}` : lost ? `⚠ ${lost} audio frames not analysed` : S.lag ? `⚠ analysis ${S.lag.behind_s.toFixed(1)} s behind` : "";
  renderBars(); renderCounts(); renderTimeline(); renderTranscript();
  for (const ext of S.extensions) if (ext.render) ext.render(S);
}

function renderBars() {
  const box = document.getElementById("bars");
  for (const p of S.people) {
    let row = document.getElementById("bar-" + p.id);
    if (!row) {
      row = document.createElement("div"); row.className = "bar"; row.id = "bar-" + p.id;
      row.innerHTML = `<span class="name"></span><div class="track"><div class="fill"></div></div><span class="pct"></span>`;
      row.querySelector(".name").textContent = p.name;
      row.querySelector(".fill").style.background = S.color[p.id];
      box.appendChild(row);
    }
    const share = S.share[p.id] || 0;
    row.querySelector(".fill").style.width = `${(100 * share).toFixed(1)}%`;
    row.querySelector(".pct").textContent = `${(100 * share).toFixed(1)}%`;
    row.dataset.share = share;
    row.classList.toggle("speaking", p.id in S.speaking);
    row.classList.toggle("offline", S.connected !== undefined && !S.connected.has(p.id) && !S.ended);
  }
}

function renderCounts() {
  const body = document.querySelector("#counts tbody");
  body.innerHTML = "";
  for (const p of S.people) {
    const made = S.interruptions.filter((i) => i.by === p.id);
    const cells = [p.name, (S.time[p.id] || 0).toFixed(1), S.turns[p.id] || 0,
      `${made.length} (${made.filter((i) => i.successful).length})`,
      S.interruptions.filter((i) => i.of === p.id).length,
      S.backchannels.filter((b) => b.who === p.id).length, cueStrip(p.id)];
    const tr = document.createElement("tr"); tr.id = "count-" + p.id;
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    body.appendChild(tr);
  }
}

function cueStrip(pid) {
  // observable cues only (policy observe/score): face present, smile, nod, voice vs own baseline
  const f = S.face[pid], v = S.voice[pid];
  const parts = [];
  if (f) {
    if (f.status !== "ok") parts.push({ camera_off: "📷✕", no_face: "👤?", dark: "🌑", several_faces: "👥" }[f.status] || f.status);
    else {
      parts.push("👤");
      if ((f.cues.smile || 0) > 0.5) parts.push("🙂");
      if ((f.cues.nod || 0) > 0) parts.push("↕");
    }
  }
  if (v) {
    const z = ((v.z.pitch_hz || 0) + (v.z.loudness_db || 0)) / 2;
    parts.push(`🔊${z >= 0 ? "+" : ""}${z.toFixed(1)}σ`);
  }
  return parts.join(" ") || "—";
}

function renderTimeline() {
  const svg = document.getElementById("timeline");
  const W = svg.clientWidth || 800, rowH = 22, left = 110;
  svg.setAttribute("height", 30 + rowH * S.people.length);
  const t1 = Math.max(S.clock, WINDOW_S), t0 = t1 - WINDOW_S;
  const x = (t) => left + (W - left - 10) * (t - t0) / WINDOW_S;
  const row = {}; S.people.forEach((p, i) => row[p.id] = 10 + i * rowH);
  const parts = [];
  for (const o of S.overlaps) if (o.end > t0)
    parts.push(`<rect x="${x(Math.max(o.start, t0))}" y="4" width="${Math.max(1, x(o.end) - x(Math.max(o.start, t0)))}" height="${rowH * S.people.length + 8}" fill="#f5c6c6" opacity="0.5"/>`);
  for (const p of S.people) {
    const y = row[p.id];
    parts.push(`<text x="4" y="${y + 14}">${escapeHtml(p.name)}</text>`);
    const segs = S.speech[p.id].filter(([, e]) => e > t0);
    if (p.id in S.speaking) segs.push([S.speaking[p.id], S.clock]);
    for (const [s, e] of segs)
      parts.push(`<rect x="${x(Math.max(s, t0))}" y="${y + 3}" width="${Math.max(1, x(e) - x(Math.max(s, t0)))}" height="${rowH - 8}" fill="${S.color[p.id]}" rx="2"/>`);
  }
  for (const i of S.interruptions) if (i.at > t0 && row[i.by] !== undefined)
    parts.push(`<text x="${x(i.at) - 5}" y="${row[i.by] + 2}" fill="${i.successful ? "#c00" : "#888"}">${i.successful ? "▲" : "△"}</text>`);
  for (const r of S.reactions) if (r.at > t0 && row[r.who] !== undefined)
    parts.push(`<text x="${x(r.at) - 5}" y="${row[r.who] + 20}" fill="${r.composure === null ? "#888" : r.composure >= 0.5 ? "#2f9e58" : "#c60"}">◆</text>`);
  for (const b of S.backchannels) if (b.at > t0 && row[b.who] !== undefined)
    parts.push(`<circle cx="${x(b.at)}" cy="${row[b.who] + 11}" r="3" fill="#000"/>`);
  for (let t = Math.ceil(t0 / 10) * 10; t <= t1; t += 10)
    parts.push(`<text x="${x(t) - 12}" y="${24 + rowH * S.people.length}" fill="#888">${fmt(t)}</text>`);
  svg.innerHTML = parts.join("");
}

const ACT_LABELS = { support: "支持 support", build_on: "补充 builds on", challenge: "质疑 challenge",
  question: "提问 question", guide: "引导 guide", time_keeping: "控时 time", summary: "总结 summary",
  invite: "邀请 invite", evidence: "论据 evidence", new_idea: "新观点 new idea" };

function renderTranscript() {
  const box = document.getElementById("transcript");
  const query = document.getElementById("search").value.trim().toLowerCase();
  if (!S.transcriptDirty && box.dataset.query === query) return;
  S.transcriptDirty = false; box.dataset.query = query;
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  const rows = [];
  for (const u of [...S.utterances].sort((a, b) => a.start - b.start)) {
    const acts = S.acts.filter((a) => a.by === u.who && Math.abs(a.at - u.start) < 0.05);
    const hay = (u.text + " " + name(u.who) + " " + acts.map((a) => a.kind).join(" ")).toLowerCase();
    if (query && !hay.includes(query)) continue;
    const tags = acts.map((a) => `<span class="tag" title="${escapeHtml(a.cue)}">${escapeHtml(ACT_LABELS[a.kind] || a.kind)}${a.to ? " → " + escapeHtml(name(a.to)) : ""}</span>`).join("");
    rows.push(`<div class="utt" style="border-color:${S.color[u.who]}"><span class="t">${fmt(u.start)}</span>` +
      `<span class="who" style="color:${S.color[u.who]}">${escapeHtml(name(u.who))}</span>${escapeHtml(u.text)}${tags}</div>`);
  }
  box.innerHTML = rows.join("");
  if (atBottom) box.scrollTop = box.scrollHeight;
}

function escapeHtml(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

main().catch((e) => { document.body.textContent = String(e); });
