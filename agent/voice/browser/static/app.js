// Browser side of the local WebRTC endpoint: microphone up, answer audio down, and a
// data channel ("events") carrying transcripts, perception events and answers as JSON.
"use strict";

const params = new URLSearchParams(location.search);
const state = { transcripts: [], answers: [], events: [], toolCalls: [], answerAudioEnergy: 0, connected: false, sessionId: null };
window.mossState = state;  // read by the end-to-end test and handy in the console

const $ = (id) => document.getElementById(id);
let pc = null;
let statsTimer = null;

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
      break;
    case "state":
      $("agent-state").textContent = `assistant ${msg.agent}`;
      break;
    case "error":
      $("error").textContent = msg.message;
      break;
  }
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
    $("error").textContent = `the server refused the call (${res.status}): ${await res.text()}`;
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
  if (pc) { pc.getSenders().forEach((s) => s.track && s.track.stop()); pc.close(); pc = null; }
  $("stop").disabled = true;
  $("start").disabled = false;
  $("status").textContent = "call ended";
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
if (params.get("autostart") === "1") start();
