// Browser side of the local WebRTC endpoint: microphone up, answer audio down, and a
// data channel ("events") carrying transcripts, perception events and answers as JSON.
// The session's minutes are read from the server (GET minutes?session=ID) every
// MINUTES_EVERY_MS and after each answer.
"use strict";

const MINUTES_EVERY_MS = 10000;
const params = new URLSearchParams(location.search);
const state = { transcripts: [], answers: [], events: [], toolCalls: [], answerAudioEnergy: 0, connected: false, sessionId: null, minutes: null };
window.mossState = state;  // read by the end-to-end test and handy in the console

const $ = (id) => document.getElementById(id);
let pc = null;
let statsTimer = null;
let minutesTimer = null;
let minutesReading = false;

function mmss(seconds) {
  if (typeof seconds !== "number") return "";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function addItem(listId, cls, text, start, who) {
  const li = document.createElement("li");
  if (cls) li.className = cls;
  if (start !== undefined && start !== null) {
    const t = document.createElement("span");
    t.className = "time";
    t.textContent = mmss(start);
    li.appendChild(t);
  }
  if (who) {  // who said it: the speaker id perception gave the voice (S1, S2, ...)
    const w = document.createElement("span");
    w.className = "who";
    w.textContent = who + ": ";
    li.appendChild(w);
  }
  li.appendChild(document.createTextNode(text));
  $(listId).appendChild(li);
  return li;
}

// --- minutes --------------------------------------------------------------------------

// The words after an item: its owner and deadline, how a disagreement was settled.
function itemDetails(item, name) {
  const said = [];
  if (item.owner) said.push(`owner: ${name(item.owner)}`);
  if (item.deadline) said.push(`due: ${item.deadline}`);
  if (item.resolved === true) said.push(item.resolution ? `settled: ${item.resolution}` : "settled");
  if (item.resolved === false) said.push("not settled");
  return said.length ? ` (${said.join("; ")})` : "";
}

function minutesList(heading, rows) {
  const part = document.createElement("div");
  part.className = "minutes-part";
  part.appendChild(Object.assign(document.createElement("h3"), { textContent: heading }));
  const ol = document.createElement("ol");
  for (const [time, who, text] of rows) {
    const li = document.createElement("li");
    li.appendChild(Object.assign(document.createElement("span"), { className: "time", textContent: time }));
    if (who) li.appendChild(Object.assign(document.createElement("span"), { className: "who", textContent: who + ": " }));
    li.appendChild(document.createTextNode(text));
    ol.appendChild(li);
  }
  part.appendChild(ol);
  return part;
}

// Render the minutes as the server gives them (see endpoint.minutes_reader): every string
// goes in through textContent, never as HTML.
function renderMinutes(m) {
  const names = m.speakers || {};
  const name = (id) => (id && names[id]) || id || "";
  const items = (list) => (list || []).map((i) => [mmss(i.time), name(i.speaker), i.text + itemDetails(i, name)]);
  const parts = [
    ["Decisions", items(m.decisions)],
    ["Action items", items(m.actions)],
    ["Open questions", items(m.open_questions)],
    ["Disagreements", items(m.disagreements)],
    ["Next meeting", items(m.next_meeting ? [m.next_meeting] : [])],
    ["Topics", (m.topics || []).map((t) => [
      `${mmss(t.start)}–${mmss(t.end)}`, "",
      t.title + (t.keywords && t.keywords.length ? ` (${t.keywords.slice(0, 4).join(", ")})` : ""),
    ])],
  ].filter(([, rows]) => rows.length);
  const box = $("minutes");
  box.replaceChildren(...parts.map(([heading, rows]) => minutesList(heading, rows)));
  $("minutes-through").textContent = typeof m.through === "number" ? ` (up to ${mmss(m.through)})` : "";
  $("minutes-empty").hidden = parts.length > 0;
}

async function refreshMinutes() {
  if (!state.sessionId || minutesReading) return;
  minutesReading = true;
  try {
    const res = await fetch(`minutes?session=${encodeURIComponent(state.sessionId)}`);
    if (!res.ok) return;  // no minutes on this server, or not yet: try again later
    state.minutes = await res.json();
    renderMinutes(state.minutes);
  } catch (err) {
    console.warn("could not read the minutes", err);
  } finally {
    minutesReading = false;
  }
}

function followMinutes() {
  if (minutesTimer) clearInterval(minutesTimer);
  minutesTimer = setInterval(refreshMinutes, MINUTES_EVERY_MS);
  refreshMinutes();
}

// One line of the events list, or null for events the conversation already shows
// (speaker turns are the labels of its lines).
function eventText(ev) {
  switch (ev.kind) {
    case "speaker":
      return null;
    case "sound":
      return `sound: ${ev.label}`;
    case "music":
      return `music: ${ev.label || ev.description || "playing"}`;
    case "voice": {
      const said = [ev.emotion, ev.summary].filter(Boolean).join(", ");
      return said ? `voice of ${ev.speaker || "someone"}: ${said}` : null;
    }
    default: {
      const what = ev.label || ev.text || ev.summary;
      return what ? `${ev.kind}: ${what}` : null;
    }
  }
}

function onMessage(msg) {
  switch (msg.type) {
    case "transcript":
      if (msg.final) {
        state.transcripts.push(msg);
        $("interim").textContent = "";
        addItem("conversation", "user", msg.text, msg.start, msg.speaker || "someone");
      } else {
        $("interim").textContent = msg.text;
      }
      break;
    case "answer": {
      state.answers.push(msg);
      const li = addItem("conversation", "assistant", msg.text, undefined, "assistant");
      if ((msg.reasoning && msg.reasoning.length) || (msg.citations && msg.citations.length)) {
        const d = document.createElement("details");
        const s = document.createElement("summary");
        s.textContent = "reasoning and citations";
        d.appendChild(s);
        for (const step of msg.reasoning || []) d.appendChild(Object.assign(document.createElement("div"), { textContent: "· " + step }));
        for (const c of msg.citations || []) {
          d.appendChild(Object.assign(document.createElement("div"), {
            textContent: `[${mmss(c.start)}–${mmss(c.end)}] ${c.speaker ? c.speaker + ": " : ""}${c.text || c.label || ""}`,
          }));
        }
        li.appendChild(d);
      }
      refreshMinutes();  // an answer may have needed the minutes: they are fresh now
      break;
    }
    case "tool_calls":
      state.toolCalls.push(...msg.calls);
      for (const c of msg.calls) addItem("events", "", `tool ${c.name}(${c.arguments})`);
      break;
    case "event": {
      state.events.push(msg.event);
      const text = eventText(msg.event);
      if (text) addItem("events", msg.event.kind, text, msg.event.start);
      break;
    }
    case "session":
      state.sessionId = msg.session_id;
      $("session").textContent = `session ${msg.session_id}`;
      document.title = `session ${msg.session_id} · moss-agents voice assistant`;
      followMinutes();
      break;
    case "state":
      $("agent-state").textContent = `assistant ${msg.agent}`;
      break;
    case "error":
      $("error").textContent = msg.message;
      break;
  }
}

// The message of a refusal ({"error": {"message": ...}}), or its text when it is not one.
async function refusalMessage(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (body && body.error && typeof body.error.message === "string") return body.error.message;
  } catch (err) {
    // not JSON (a proxy's page, say): show it as it came
  }
  return text.trim() || res.statusText;
}

async function watchAnswerAudio() {
  // inbound audio energy tells us answer audio really arrived (works without a speaker)
  if (!pc) return;
  const stats = await pc.getStats();
  stats.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio" && typeof r.totalAudioEnergy === "number") {
      state.answerAudioEnergy = r.totalAudioEnergy;
    }
  });
}

async function waitForIce(conn) {
  if (conn.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const check = () => { if (conn.iceGatheringState === "complete") { conn.removeEventListener("icegatheringstatechange", check); resolve(); } };
    conn.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 3000);  // gathering on loopback is quick; do not hang the page
  });
}

async function start() {
  $("error").textContent = "";
  $("start").disabled = true;
  $("status").textContent = "asking for the microphone…";
  let mic;
  try {
    mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
  } catch (err) {
    $("error").textContent = `no microphone: ${err.message}. Allow microphone access and try again.`;
    $("start").disabled = false;
    return;
  }
  pc = new RTCPeerConnection();
  pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv", streams: [mic] });
  const channel = pc.createDataChannel("events");
  channel.onmessage = (e) => onMessage(JSON.parse(e.data));
  channel.onopen = () => { state.connected = true; $("status").textContent = "connected: speak"; };
  channel.onclose = () => { state.connected = false; $("status").textContent = "call ended"; };
  pc.ontrack = (e) => { $("answer-player").srcObject = e.streams[0] || new MediaStream([e.track]); };
  pc.onconnectionstatechange = () => {
    if (pc && pc.connectionState === "failed") $("error").textContent = "the connection failed; reload the page to try again";
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIce(pc);
  $("status").textContent = "connecting…";
  const res = await fetch("offer", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, token: params.get("token") || "" }),
  });
  if (!res.ok) {
    $("error").textContent = `the server refused the call (${res.status}): ${await refusalMessage(res)}`;
    $("start").disabled = false;
    pc.close(); pc = null;
    return;
  }
  await pc.setRemoteDescription(await res.json());
  $("stop").disabled = false;
  statsTimer = setInterval(watchAnswerAudio, 250);
}

function stop() {
  if (statsTimer) clearInterval(statsTimer);
  if (minutesTimer) clearInterval(minutesTimer);
  minutesTimer = null;
  refreshMinutes();  // the minutes as the call ended
  if (pc) { pc.getSenders().forEach((s) => s.track && s.track.stop()); pc.close(); pc = null; }
  $("stop").disabled = true;
  $("start").disabled = false;
  $("status").textContent = "call ended";
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
if (params.get("autostart") === "1") start();
