"""The page: plain HTML, a script and a style sheet, served by `benchmarks.play.app` (no build step, no CDN).

Everything a person or a simulator typed is put on the page as text (`textContent`), never as
HTML, and the server's Content-Security-Policy allows only this page's own script.
"""

from __future__ import annotations

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Play the shopper: dialog-based interactive image retrieval</title>
<link rel="stylesheet" href="/play.css">
<script src="/play.js" defer></script>
</head>
<body>
<header>
  <h1>Play the shopper</h1>
  <nav id="modes">
    <button type="button" class="mode" data-mode="play" id="mode-play">Play</button>
    <button type="button" class="mode" data-mode="whittlesearch" id="mode-whittlesearch">WhittleSearch</button>
    <button type="button" class="mode" data-mode="watch" id="mode-watch">Watch</button>
  </nav>
</header>
<main>
  <section id="setup">
    <p id="intro"></p>
    <label id="agent-label">Agent <select id="agent"></select></label>
    <label id="user-label">Simulated user <select id="user"></select></label>
    <button type="button" id="start">Start</button>
  </section>
  <p id="status" role="status" aria-live="polite"></p>
  <section id="dialog" hidden>
    <div class="pair">
      <figure><img id="target" alt="the target"><figcaption id="target-label">The shoe you want</figcaption></figure>
      <figure><img id="shown" alt="the image the agent shows"><figcaption id="turn-label"></figcaption></figure>
    </div>
    <form id="text-form" autocomplete="off">
      <label for="feedback">Unlike this one, the one I want ...</label>
      <input id="feedback" type="text" maxlength="200" placeholder="is red with a lower heel">
      <button id="send" type="submit">Send</button>
      <span id="count"></span>
    </form>
    <form id="attribute-form">
      <p>Unlike this one, the one I want is ... (press as many as you like)</p>
      <div id="attribute-buttons"></div>
      <button id="send-attributes" type="submit">Send</button>
    </form>
    <div id="watch-controls">
      <p>User: <q id="watch-sentence"></q></p>
      <p id="watch-rank"></p>
      <button type="button" id="next">Next turn</button>
      <button type="button" id="play-all">Play to the end</button>
    </div>
    <ol id="history"></ol>
  </section>
  <section id="result" hidden>
    <h2 id="result-title"></h2>
    <table id="ranks">
      <thead><tr><th>turn</th><th>image shown</th><th>feedback about it</th><th>target's position</th>
      <th>rank percentile</th></tr></thead>
      <tbody></tbody>
    </table>
    <button type="button" id="again">New dialog</button>
  </section>
</main>
</body>
</html>
"""

PAGE_JS = r"""
"use strict";
const $ = (id) => document.getElementById(id);
const INTRO = {
  play: "A shoe is drawn from the test split: it stays on the left. Each turn the agent shows a shoe; say in your " +
        "own words how the one you want differs from it. Five turns, then you see where your shoe ranked.",
  whittlesearch: "The same game against WhittleSearch: each turn press 'more' or 'less' for any of the ten " +
                 "attributes, as many as you like.",
  watch: "A simulated shopper talks to an agent: step through the dialog turn by turn.",
};
let options = null;
let mode = "play";
let session = null;
let watchData = null;
let watchTurn = 0;
let timer = null;
let busy = false;

function imageUrl(item) { return "/api/images/" + Number(item) + ".png"; }

async function api(method, path, body) {
  const init = {method: method, headers: {}};
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : null;
    throw new Error(detail || response.status + " " + response.statusText);
  }
  return data;
}

function say(text, isError) {
  $("status").textContent = text || "";
  $("status").className = isError ? "error" : "";
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function thumbnail(item) {
  const img = element("img", null, "thumb");
  img.src = imageUrl(item);
  img.alt = "image " + Number(item);
  img.dataset.item = String(Number(item));
  return img;
}

function percent(p) { return (100 * p).toFixed(1) + "%"; }

// The env's rank counts the items closer to the query than the target (0 is best); people read positions from 1.
function position(rank) { return Number(rank) + 1; }

function setBusy(value) {
  busy = value;
  for (const id of ["start", "send", "send-attributes", "next", "play-all", "again"]) $(id).disabled = value;
}

async function init() {
  for (const button of document.querySelectorAll("button.mode")) {
    button.addEventListener("click", () => setMode(button.dataset.mode));
  }
  $("start").addEventListener("click", start);
  $("again").addEventListener("click", start);
  $("text-form").addEventListener("submit", sendText);
  $("attribute-form").addEventListener("submit", sendAttributes);
  $("feedback").addEventListener("input", () => {
    $("count").textContent = $("feedback").value.length + " / " + $("feedback").maxLength;
  });
  $("next").addEventListener("click", watchNext);
  $("play-all").addEventListener("click", () => {
    if (timer === null) timer = setInterval(watchNext, 600);
  });
  try {
    options = await api("GET", "/api/options");
  } catch (err) {
    say("Cannot reach the server: " + err.message, true);
    return;
  }
  for (const agent of options.agents) {
    const o = element("option", agent.name);
    o.value = agent.name;
    o.title = agent.description;
    $("agent").appendChild(o);
  }
  const preferred = options.agents.find((a) => a.name.startsWith("policy_improvement-captioner")) ||
                    options.agents.find((a) => a.name.startsWith("policy_improvement"));
  if (preferred) $("agent").value = preferred.name;
  for (const user of options.users) {
    const o = element("option", user);
    o.value = user;
    $("user").appendChild(o);
  }
  $("user").value = options.users.includes("grammar") ? "grammar" : options.users[0];
  $("feedback").maxLength = options.max_feedback_chars;
  for (const attribute of options.attributes) {
    const row = element("div", null, "attribute");
    row.appendChild(element("span", attribute.word, "attribute-name"));
    for (const relation of ["less", "more"]) {
      const b = element("button", relation + " " + attribute.word, "relation");
      b.type = "button";
      b.dataset.attribute = attribute.word;
      b.dataset.relation = relation;
      b.setAttribute("aria-pressed", "false");
      b.title = relation + " " + attribute.name + " than the one shown";
      b.addEventListener("click", () => toggle(b));
      row.appendChild(b);
    }
    $("attribute-buttons").appendChild(row);
  }
  setMode(new URLSearchParams(location.search).get("mode") || "play");
}

function toggle(button) {
  const on = button.getAttribute("aria-pressed") !== "true";
  for (const other of button.parentNode.querySelectorAll("button.relation")) {
    other.setAttribute("aria-pressed", "false");
  }
  button.setAttribute("aria-pressed", on ? "true" : "false");
}

function setMode(next) {
  if (!(next in INTRO)) next = "play";
  if (timer !== null) { clearInterval(timer); timer = null; }
  mode = next;
  session = null;
  watchData = null;
  for (const button of document.querySelectorAll("button.mode")) {
    button.setAttribute("aria-pressed", button.dataset.mode === mode ? "true" : "false");
  }
  $("intro").textContent = INTRO[mode];
  $("agent-label").hidden = mode === "whittlesearch";
  $("user-label").hidden = mode !== "watch";
  $("start").textContent = mode === "watch" ? "Simulate a dialog" : "Start";
  $("dialog").hidden = true;
  $("result").hidden = true;
  say("");
}

function showDialog(target, image, turns) {
  $("history").replaceChildren();
  $("result").hidden = true;
  $("dialog").hidden = false;
  $("target").src = imageUrl(target);
  $("target").dataset.item = String(Number(target));
  $("target-label").textContent = mode === "watch" ? "The target the user has in mind" : "The shoe you want";
  $("text-form").hidden = mode !== "play";
  $("attribute-form").hidden = mode !== "whittlesearch";
  $("watch-controls").hidden = mode !== "watch";
  $("feedback").value = "";
  $("count").textContent = "";
  for (const b of document.querySelectorAll("button.relation")) b.setAttribute("aria-pressed", "false");
  setShown(image, 0, turns);
}

function setShown(image, turn, turns) {
  $("shown").src = imageUrl(image);
  $("shown").dataset.item = String(Number(image));
  $("turn-label").textContent = "Turn " + (turn + 1) + " of " + turns + ": the agent shows";
}

function addHistory(image, sentence) {
  const li = element("li");
  li.appendChild(thumbnail(image));
  li.appendChild(element("span", sentence, "sentence"));
  $("history").appendChild(li);
}

async function start() {
  if (busy) return;
  setBusy(true);
  say(mode === "watch" ? "Simulating..." : "Drawing a target...");
  try {
    if (mode === "watch") {
      watchData = await api("POST", "/api/watch", {agent: $("agent").value, user: $("user").value});
      watchTurn = 0;
      showDialog(watchData.target, watchData.steps[0].image, watchData.turns);
      showWatchStep();
    } else {
      session = await api("POST", "/api/sessions", {mode: mode, agent: $("agent").value});
      showDialog(session.target, session.image, session.turns);
      if (mode === "play") $("feedback").focus();
    }
    say("");
  } catch (err) {
    say(err.message, true);
  } finally {
    setBusy(false);
  }
}

async function sendText(event) {
  event.preventDefault();
  const text = $("feedback").value;
  if (!text.trim()) { say("Type how the shoe you want differs from the one shown.", true); return; }
  await sendTurn({feedback: text}, text);
}

async function sendAttributes(event) {
  event.preventDefault();
  const pressed = [];
  for (const b of document.querySelectorAll("button.relation[aria-pressed='true']")) {
    pressed.push({attribute: b.dataset.attribute, relation: b.dataset.relation});
  }
  if (!pressed.length) { say("Press at least one 'more' or 'less' button.", true); return; }
  await sendTurn({attributes: pressed}, pressed.map((p) => p.relation + " " + p.attribute).join(", "));
}

async function sendTurn(body, said) {
  if (busy || session === null) return;
  setBusy(true);
  say("The agent is choosing...");
  const shownBefore = $("shown").dataset.item;
  try {
    const r = await api("POST", "/api/sessions/" + encodeURIComponent(session.session) + "/turns", body);
    addHistory(shownBefore, said);
    $("feedback").value = "";
    $("count").textContent = "";
    for (const b of document.querySelectorAll("button.relation")) b.setAttribute("aria-pressed", "false");
    if (r.done) {
      session = null;
      showResult(r.result);
    } else {
      setShown(r.image, r.turn, r.turns);
      if (mode === "play") $("feedback").focus();
    }
    say("");
  } catch (err) {
    say(err.message, true);
  } finally {
    setBusy(false);
  }
}

function showWatchStep() {
  const step = watchData.steps[watchTurn];
  setShown(step.image, watchTurn, watchData.turns);
  $("watch-sentence").textContent = step.sentence === null ? "(the dialog is over)" : step.sentence;
  $("watch-rank").textContent = "The target is at position " + position(step.rank) + " of " + watchData.n_items +
                                " in the agent's ranking (rank percentile " + percent(step.rank_percentile) + ")";
}

function watchNext() {
  if (watchData === null) return;
  const last = watchData.steps.length - 1;
  if (watchTurn >= last) {
    if (timer !== null) { clearInterval(timer); timer = null; }
    const steps = watchData.steps;
    showResult({target: watchData.target, found: watchData.found, turns: watchData.turns, n_items: watchData.n_items,
                shown: steps.map((s) => s.image), sentences: steps.slice(0, -1).map((s) => s.sentence),
                ranks: steps.map((s) => s.rank), rank_percentiles: steps.map((s) => s.rank_percentile)});
    return;
  }
  addHistory(watchData.steps[watchTurn].image, watchData.steps[watchTurn].sentence);
  watchTurn += 1;
  showWatchStep();
}

function showResult(result) {
  const taken = result.shown.length - 1;
  const last = result.rank_percentiles.length - 1;
  $("text-form").hidden = true;
  $("attribute-form").hidden = true;
  $("watch-controls").hidden = true;
  $("shown").src = imageUrl(result.shown[taken]);
  $("shown").dataset.item = String(Number(result.shown[taken]));
  $("turn-label").textContent = "The agent's last image";
  $("result-title").textContent = result.found ?
    "The agent showed the target at turn " + taken + "." :
    "After " + taken + " turns the target is at position " + position(result.ranks[last]) + " of " +
    result.n_items + " in the agent's ranking (rank percentile " + percent(result.rank_percentiles[last]) + ").";
  const body = $("ranks").tBodies[0];
  body.replaceChildren();
  for (let t = 0; t <= taken; t++) {
    const row = element("tr");
    row.appendChild(element("td", t === 0 ? "0 (first image)" : t));
    const cell = element("td");
    cell.appendChild(thumbnail(result.shown[t]));
    row.appendChild(cell);
    row.appendChild(element("td", t < result.sentences.length ? result.sentences[t] : "-", "sentence"));
    row.appendChild(element("td", position(result.ranks[t])));
    row.appendChild(element("td", percent(result.rank_percentiles[t])));
    body.appendChild(row);
  }
  $("result").hidden = false;
  $("again").focus();
}

document.addEventListener("DOMContentLoaded", init);
"""

PAGE_CSS = """
[hidden] { display: none !important; }
body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 0 16px 32px; color: #222; }
header { display: flex; align-items: baseline; justify-content: space-between; border-bottom: 1px solid #ddd; }
h1 { font-size: 1.4em; margin: 12px 0; }
h2 { font-size: 1.15em; }
nav button, #setup button, form button, #watch-controls button, #again { padding: 6px 12px; font: inherit; }
button[aria-pressed="true"] { background: #1f5fbf; color: #fff; border-color: #1f5fbf; }
#setup { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
#intro { flex-basis: 100%; margin: 8px 0 0; }
#status { min-height: 1.4em; }
#status.error { color: #b00020; font-weight: 600; }
.pair { display: flex; gap: 24px; }
figure { margin: 0; text-align: center; }
.pair img { width: 192px; height: 192px; border: 1px solid #ccc; background: #fff; }
#text-form { margin: 12px 0; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
#feedback { flex: 1; min-width: 260px; padding: 6px; font: inherit; }
#attribute-buttons { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 6px 24px; }
.attribute { display: grid; grid-template-columns: 100px 1fr 1fr; gap: 6px; align-items: center; }
.attribute-name { text-align: right; white-space: nowrap; }
#history { display: flex; flex-wrap: wrap; gap: 12px; padding-left: 20px; }
#history li { width: 140px; }
img.thumb { width: 96px; height: 96px; border: 1px solid #ddd; display: block; }
.sentence { white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; text-align: left; vertical-align: middle; }
"""
