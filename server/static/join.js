// Candidate page: consent, device choice and preview, then the room.
// One RTCPeerConnection to the server: our audio+video out, and one receive slot
// (audio+video) per other candidate, offered up front, so late joiners need no
// renegotiation. The server answers once ICE gathering is complete (no trickle).
"use strict";

const q = new URLSearchParams(location.search);
// lgdAuth (grant.js): the link's token exchanged for a short-lived one
const sid = location.pathname.split("/").pop();
const AUTO = q.get("auto") === "1";          // lgd simulate: consent given by the operator
const RAW = q.get("raw") === "1";            // no echo cancellation / AGC / NS: levels as recorded
const START_AT = Number(q.get("startAt") || 0); // epoch ms to open the devices (simulate)
const api = (path, opts = {}) => fetch(`/api/sessions/${sid}${path}`, {
  ...opts, headers: { "Authorization": `Bearer ${lgdAuth.token}`, "Content-Type": "application/json" },
});
const $ = (id) => document.getElementById(id);

let info, stream, pc, ws, captureStartedMs = 0, reconnects = 0;
const tiles = {};        // who -> {el, video, audio, analyser}
const envelope = {};     // who -> [[epoch ms, rms], ...] not yet posted
let ctx;

async function main() {
  await lgdAuth.ready;
  const r = await api("/join-info");
  if (!r.ok) { $("error").textContent = (await r.json()).error || r.statusText; return; }
  info = await r.json();
  $("notice").textContent = info.notice;
  document.documentElement.lang = info.language;
  const me = info.participants.find((p) => p.id === info.me);
  $("myname").textContent = me ? me.name : info.me;
  $("title").textContent += " · " + ($("myname").textContent);
  for (const p of info.participants) if (p.id !== info.me) addTile(p);
  if (AUTO) {
    if (START_AT) await sleep(START_AT - Date.now());
    await openDevices();
    return join();
  }
  await openDevices();
  await listDevices();
  $("agree").onchange = () => { $("join").disabled = !$("agree").checked; };
  $("join").onclick = join;
  $("mic").onchange = $("cam").onchange = openDevices;
}

function audioConstraints(deviceId) {
  const c = { echoCancellation: !RAW, noiseSuppression: false, autoGainControl: false };
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

async function openDevices() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  const mic = $("mic").value, cam = $("cam").value;
  // simulate asks for small video: all its browsers share one machine
  const size = q.get("video") === "low" ? { width: 160, height: 120, frameRate: 10 } : { width: 640, height: 480 };
  const video = cam ? { ...size, deviceId: { exact: cam } } : size;
  try {
    if (q.get("video") === "none") throw new Error("camera off");  // simulate --no-video
    stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(mic), video });
  } catch (e) { // camera refused or absent: audio only, the room works without video
    stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(mic) });
  }
  captureStartedMs = Date.now();
  $("preview").srcObject = stream;
  $("self").srcObject = stream;
  meter(stream, $("level"));
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [sel, kind] of [[$("mic"), "audioinput"], [$("cam"), "videoinput"]]) {
    sel.innerHTML = "";
    for (const d of devices.filter((d) => d.kind === kind)) {
      const o = document.createElement("option");
      o.value = d.deviceId; o.textContent = d.label || d.kind; sel.appendChild(o);
    }
  }
}

function addTile(p) {
  const el = document.createElement("div");
  el.className = "tile"; el.id = "tile-" + p.id;
  el.innerHTML = `<video autoplay playsinline></video><audio autoplay></audio>` +
    `<div class="absent">未加入 · not joined</div><span class="name"></span>`;
  el.querySelector(".name").textContent = p.name;
  $("tiles").appendChild(el);
  tiles[p.id] = { el, video: el.querySelector("video"), audio: el.querySelector("audio") };
  envelope[p.id] = [];
}

async function join() {
  // the consent record: this notice's version, agreed by the candidate (or, in a rehearsal
  // run by lgd simulate, by its operator)
  const c = await api("/consent", { method: "POST", body: JSON.stringify({
    notice_version: info.notice_version, agree: true, operator: AUTO }) });
  if (!c.ok) { $("error").textContent = (await c.json()).error || c.statusText; return; }
  $("consent").hidden = true; $("room").hidden = false;
  ctx = ctx || new AudioContext();
  ctx.resume();  // not awaited: with no audio output (headless) it may never settle
  await connect();
  listen();
  setInterval(postStats, 2000);
}

async function connect() {
  if (pc) pc.close();
  pc = new RTCPeerConnection({ iceServers: info.ice_servers, bundlePolicy: "max-bundle" });
  const audio = stream.getAudioTracks()[0], video = stream.getVideoTracks()[0];
  pc.addTransceiver(audio, { direction: "sendonly", streams: [stream] });
  pc.addTransceiver(video || "video", { direction: "sendonly" });
  const slots = [];
  for (const p of info.participants) {
    if (p.id === info.me) continue;
    slots.push([p.id, pc.addTransceiver("audio", { direction: "recvonly" })]);
    slots.push([p.id, pc.addTransceiver("video", { direction: "recvonly" })]);
  }
  pc.ontrack = (ev) => {
    const slot = slots.find(([, t]) => t === ev.transceiver);
    if (!slot) return;
    const tile = tiles[slot[0]];
    const ms = new MediaStream([ev.track]);
    if (ev.track.kind === "video") {
      tile.video.srcObject = ms;
      ev.track.onunmute = () => tile.el.querySelector(".absent").hidden = true;
    } else {
      tile.audio.srcObject = ms;    // Chrome feeds WebAudio only from played remote streams
      tile.analyser = ctx.createAnalyser();
      tile.analyser.fftSize = 2048;  // ~43 ms at 48 kHz: about the 50 ms sampling step
      ctx.createMediaStreamSource(ms).connect(tile.analyser);
    }
  };
  pc.onconnectionstatechange = () => {
    $("conn").textContent = pc.connectionState;
    $("conn").className = "state " + pc.connectionState;
    if (pc.connectionState === "failed" || pc.connectionState === "disconnected") scheduleReconnect();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const mids = {};
  for (const [who, t] of slots) mids[t.mid] = who;
  const r = await api("/offer", { method: "POST", body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp, slots: mids }) });
  // the server restarting (a proxy's 502/503, or a draining server): try again shortly
  if (r.status >= 500) throw new Error(`offer: ${r.status}`);
  if (!r.ok) { $("error").textContent = (await r.json()).error; $("consent").hidden = false; return; }
  await pc.setRemoteDescription(await r.json());
}

let reconnectTimer, retryMs = 3000;
function scheduleReconnect() {
  // A network drop or a server restart: after 3 s without recovery, replace the
  // connection (a re-offer with this page's token). The server places the new
  // connection's audio on the same session clock, a restarted one too. While the server
  // is down (no answer, or 5xx) it tries again, backing off to every 10 s, for as long as
  // the page is open; an answer that the session ended (409) stops it.
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(async () => {
    if (pc.connectionState === "connected") { retryMs = 3000; return; }
    reconnects += 1;
    try {
      await connect();
      retryMs = 3000;
    } catch (e) {
      $("conn").textContent = "reconnecting…";
      retryMs = Math.min(retryMs * 1.5, 10000);
      scheduleReconnect();
    }
  }, retryMs);
}

function gathered(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 5000); // some networks never finish: go with what we have
  });
}

// The exercise's phase and its countdown, on the server's session clock (the same ticks
// every page gets, so every page shows the same time); the case text while reading.
let phase = null, clock = 0;
function showPhase() {
  if (!phase) return;
  const left = Math.max(0, phase.planned_s - (clock - phase.at));
  const names = { reading: "阅读材料 Reading", opening: "开场陈述 Opening", discussion: "自由讨论 Discussion", summary: "总结陈述 Summary" };
  $("phase").textContent = names[phase.name] || phase.name;
  $("timer").textContent = `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(Math.floor(left % 60)).padStart(2, "0")}`;
  document.body.dataset.phase = phase.name;
  document.body.dataset.left = String(Math.round(left));
  if (info.case) {
    $("case").hidden = false;
    $("case-title").textContent = info.case.title || "案例 · Case";
    $("case-text").textContent = info.case.text;
    $("case").open = phase.name === "reading";  // the case stays available after
  }
}

function listen() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${proto}://${location.host}/api/sessions/${sid}/live?token=${lgdAuth.token}`);
  const meTile = document.querySelector(".me");
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.type === "clock") { clock = ev.t; showPhase(); return; }
    if (ev.type === "PhaseStarted") { phase = ev; showPhase(); return; }
    const el = ev.who === info.me ? meTile : (tiles[ev.who] || {}).el;
    if (!el) return;
    if (ev.type === "SpeechStarted") el.classList.add("speaking");
    if (ev.type === "SpeechEnded") el.classList.remove("speaking");
  };
  ws.onclose = () => setTimeout(listen, 2000);
}

// Levels of what we receive, every 50 ms: the candidate's own diagnostics, and what the
// browser tests check (each candidate hears every other, with the source's envelope).
setInterval(() => {
  const now = Date.now();
  for (const [who, t] of Object.entries(tiles)) {
    if (!t.analyser) continue;
    const buf = new Float32Array(t.analyser.fftSize);
    t.analyser.getFloatTimeDomainData(buf);
    let s = 0; for (const v of buf) s += v * v;
    envelope[who].push([now, Math.sqrt(s / buf.length)]);
  }
}, 50);

async function postStats() {
  const rtp = {};
  if (pc) {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      const slot = [...pc.getTransceivers()].find((t) => t.receiver.track && t.receiver.track.id === s.trackIdentifier);
      rtp[s.kind + ":" + (s.mid || (slot && slot.mid))] = {
        packets: s.packetsReceived, lost: s.packetsLost, frames: s.framesDecoded || 0,
        concealed: s.concealedSamples || 0, samples: s.totalSamplesReceived || 0,
      };
    });
  }
  const env = {};
  for (const who of Object.keys(envelope)) { env[who] = envelope[who]; envelope[who] = []; }
  await api("/client-stats", { method: "POST", body: JSON.stringify({
    capture_started_ms: captureStartedMs, state: pc ? pc.connectionState : "new",
    reconnects, rtp, envelope: env,
  }) }).catch(() => {});
}

function meter(stream, el) {
  ctx = ctx || new AudioContext();
  const a = ctx.createAnalyser(); a.fftSize = 512;
  ctx.createMediaStreamSource(stream).connect(a);
  const buf = new Float32Array(a.fftSize);
  setInterval(() => { a.getFloatTimeDomainData(buf); let s = 0; for (const v of buf) s += v * v; el.value = Math.min(1, 4 * Math.sqrt(s / buf.length)); }, 100);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
function fail(e) {
  // Shown to the candidate, and reported so assessors see why someone is missing.
  $("error").textContent = String(e);
  console.error("lgd:", e);
  api("/client-stats", { method: "POST", body: JSON.stringify({ state: "error", error: String(e) }) }).catch(() => {});
}
window.addEventListener("unhandledrejection", (ev) => fail(ev.reason));
main().catch(fail);
