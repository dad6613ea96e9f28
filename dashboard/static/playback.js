// Playback of a recorded session: each candidate's audio, decrypted by the server on the
// fly, on the session clock; the transcript, the acts and every score's evidence on the
// same clock. Clicking a piece of evidence plays its candidate from that moment.
"use strict";
const sid = location.pathname.split("/").pop();
const auth = () => ({ headers: { Authorization: `Bearer ${lgdAuth.token}` } });
// what the page is doing, for the assessor's eyes and for tests
window.playback = { ready: false, playing: null, at: 0, segment: null, error: null };
let segments = [];   // [{file, who, first_at, last_at, el}]
let duration = 1;

function fmt(t) {
  const m = Math.floor(t / 60), s = (t - 60 * m).toFixed(1);
  return `${String(m).padStart(2, "0")}:${s.padStart(4, "0")}`;
}

function text(tag, s, cls) {
  const e = document.createElement(tag);
  e.textContent = s;
  if (cls) e.className = cls;
  return e;
}

function segmentAt(who, t, kind = "audio") {  // their connection that covers session time t
  const mine = segments.filter(s => s.who === who && s.kind === kind);
  return mine.filter(s => s.first_at <= t).pop() || mine[0];
}

function pauseAll() {
  for (const s of segments) s.el.pause();
  window.playback.playing = null;
  document.getElementById("who").textContent = "";
  for (const li of document.querySelectorAll("#candidates li")) li.classList.remove("playing");
}

async function play(who, t) {
  const seg = segmentAt(who, t);
  if (!seg) { window.playback.error = `no recording of ${who}`; return; }
  pauseAll();
  const cam = segmentAt(who, t, "video");  // their camera, on the same clock
  for (const s of cam ? [seg, cam] : [seg]) {
    if (s.el.readyState < 1) {  // seeking needs the metadata
      await new Promise(ok => s.el.addEventListener("loadedmetadata", ok, { once: true }));
    }
    s.el.currentTime = Math.max(0, t - s.first_at);
  }
  if (cam) cam.el.play().catch(() => {});
  window.playback.playing = who;
  window.playback.segment = seg.file;
  window.playback.at = t;
  document.getElementById("who").textContent = "▶ " + who;
  document.getElementById("c-" + who).classList.add("playing");
  fetch(`/api/sessions/${sid}/playback`, { method: "POST", headers: {
    Authorization: `Bearer ${lgdAuth.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ candidate: who, at: t }) });
  try { await seg.el.play(); } catch (e) { window.playback.error = String(e); }
}

function tick() {
  const seg = segments.find(s => s.file === window.playback.segment);
  if (seg && window.playback.playing) {
    const t = seg.first_at + seg.el.currentTime;
    window.playback.at = t;
    document.getElementById("now").textContent = fmt(t);
    document.getElementById("cursor").style.left = `${100 * Math.min(t / duration, 1)}%`;
    for (const row of document.querySelectorAll("#transcript .row")) {
      row.classList.toggle("now", +row.dataset.start <= t && t <= +row.dataset.end);
    }
  }
  requestAnimationFrame(tick);
}

async function main() {
  // the media URLs carry a token: let it be one that expires in hours, not the link's
  await lgdAuth.ready;
  const [recs, report] = await Promise.all([
    fetch(`/api/sessions/${sid}/recordings`, auth()).then(r => r.json()),
    fetch(`/api/sessions/${sid}/report`, auth()).then(r => r.json()),
  ]);
  document.getElementById("session").textContent = sid;
  duration = Math.max(report.session.duration_s || 1, 1);
  const names = Object.fromEntries(report.participants.map(p => [p.id, p.name]));
  const list = document.getElementById("candidates");
  for (const s of recs.segments) {
    const el = document.createElement(s.kind === "video" ? "video" : "audio");
    el.preload = "auto";
    el.muted = s.kind === "video";  // the sound is the audio element's
    el.id = `${s.kind}-${s.who}-${s.generation}`;
    el.dataset.who = s.who;
    el.addEventListener("ended", () => { if (window.playback.segment === s.file) pauseAll(); });
    el.src = `/api/sessions/${sid}/media/${s.file}?token=${lgdAuth.token}`;
    segments.push({ ...s, el });
    if (s.kind === "video") {
      el.width = 240;
      document.getElementById("videos").appendChild(el);
      continue;
    }
    if (!document.getElementById("c-" + s.who)) {
      const li = text("li", `${names[s.who] || s.who} (${s.who}) `);
      li.id = "c-" + s.who;
      li.appendChild(text("button", "▶")).onclick = () => play(s.who, window.playback.at);
      list.appendChild(li);
    }
    list.appendChild(el);
  }
  const audio = segments.filter(s => s.kind === "audio");
  const track = document.getElementById("track");  // who spoke when, one lane each
  const lanes = report.participants.map(p => p.id);
  lanes.forEach((pid, i) => {
    for (const [a, b] of (report.speech || {})[pid] || []) {
      const bar = document.createElement("div");
      bar.className = "speech";
      bar.title = names[pid] || pid;
      Object.assign(bar.style, { position: "absolute", left: `${100 * a / duration}%`,
        width: `${100 * (b - a) / duration}%`, top: `${(i * 24) / lanes.length}px`,
        height: `${24 / lanes.length - 1}px`, background: `hsl(${i * 110}, 55%, 55%)` });
      track.appendChild(bar);
    }
  });
  track.onclick = ev => {
    const r = ev.currentTarget.getBoundingClientRect();
    const t = duration * (ev.clientX - r.left) / r.width;
    play(window.playback.playing || audio[0].who, t);
  };
  document.getElementById("pause").onclick = pauseAll;
  document.getElementById("play-all").onclick = () => {  // everyone at once, in sync
    const t = window.playback.at;
    pauseAll();
    for (const s of segments) {
      if (s.first_at <= t && t <= s.last_at) { s.el.currentTime = t - s.first_at; s.el.play(); }
      if (s.kind === "video") s.el.muted = true;
    }
  };
  const rows = [
    ...report.transcript.map(u => ({ at: u.start, end: u.end, who: u.who, s: u.text })),
    ...report.acts.map(a => ({ at: a.at, end: a.at, who: a.by, s: `[${a.type}] ${a.text}` })),
  ].sort((a, b) => a.at - b.at);
  const tr = document.getElementById("transcript");
  for (const r of rows) {
    const row = text("div", `${fmt(r.at)} ${names[r.who] || r.who}: ${r.s}`, "row evidence");
    row.dataset.start = r.at;
    row.dataset.end = r.end;
    row.onclick = () => play(r.who, r.at);
    tr.appendChild(row);
  }
  const ev = document.getElementById("evidence");
  for (const [who, p] of Object.entries(report.portraits || {})) {
    ev.appendChild(text("h3", `${names[who] || who}`));
    for (const [key, d] of Object.entries(p.dimensions || {})) {
      for (const e of d.evidence || []) {
        if (typeof e.at !== "number") continue;
        const line = `${key} ${d.score ?? "–"} · ${fmt(e.at)} ${e.kind}: ${e.detail}`;
        if (e.kind === "basis" || e.kind === "unavailable") {  // a summary, not a moment
          ev.appendChild(text("div", line, "basis"));
          continue;
        }
        const b = text("div", line, "evidence");
        b.dataset.who = who;
        b.dataset.at = e.at;
        b.dataset.dimension = key;
        b.onclick = () => play(who, e.at);
        ev.appendChild(b);
      }
    }
  }
  window.playback.ready = true;
  requestAnimationFrame(tick);
}

main().catch(e => { window.playback.error = String(e); });
