// The tinyrnn playground's translation page: a seq2seq model's translation of the text as
// it is typed, and its attention (POST /api/translate of tinyrnn/server.py) as a grid of
// shaded cells: a row per output token (then <eos>), a column per source token. Writes only
// textContent and styles, never HTML built from text.
"use strict";

const $ = id => document.getElementById(id);
const shown = token => token === " " ? "\u2423" : token;       // a space as the open box

async function start() {
  const info = await (await fetch("/api/info")).json();
  if (info.task !== "seq2seq") { location.replace("/"); return; }
  $("model").textContent = `${info.name}: ${info.description}`;
  const beam = $("beam");
  for (let k = 2; k <= info.limits.max_beam; k++) beam.add(new Option(String(k), String(k)));
  const input = $("source");
  let latest = 0, timer = null;
  async function ask() {
    const asked = ++latest, text = input.value;
    if (!text) { clearTranslation(); return; }
    let response, answer;
    try {
      response = await fetch("/api/translate", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({text, beam: Number(beam.value)})});
      answer = await response.json();
    } catch (error) {
      if (asked === latest) $("status").textContent = `no answer from the server (${error})`;
      return;
    }
    if (asked !== latest) return;                  // a newer request is on its way
    if (!response.ok) { clearTranslation(); $("status").textContent = answer.error; return; }
    showTranslation(answer);
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 120); });
  beam.addEventListener("change", ask);
  if (input.value) ask();
}

function clearTranslation() {
  $("results").hidden = true;
  $("translation").textContent = "–";
  $("score").textContent = "";
  $("status").textContent = "";
  clearGrid();
}

function showTranslation(answer) {
  $("translation").textContent = answer.translation;
  $("score").textContent = `ln p ${answer.score.toFixed(3)} (${answer.normalized_score.toFixed(3)} per token)` +
    (answer.finished ? "" : ", stopped at the longest translation searched");
  const unknown = answer.source_tokens.filter((token, s) => !answer.known[s]);
  $("status").textContent = unknown.length ?
    `not in the vocabulary (read as <unk>): ${unknown.map(token => `“${token}”`).join(" ")}` : "";
  if (answer.attention === null) {
    clearGrid();
    $("results").hidden = true;
    $("status").textContent += " This model has no attention (attention none): no alignment to show.";
    return;
  }
  drawGrid(answer);
  $("results").hidden = false;
}

function clearGrid() {
  $("attention").tHead.replaceChildren();
  $("attention").tBodies[0].replaceChildren();
}

function drawGrid(answer) {
  clearGrid();
  const table = $("attention"), head = table.tHead.insertRow();
  table.classList.toggle("upright", answer.source_tokens.every(token => token.length === 1));   // characters
  head.appendChild(document.createElement("th"));
  answer.source_tokens.forEach((token, s) => {
    const th = document.createElement("th");
    th.textContent = shown(token);
    if (!answer.known[s]) th.className = "unknown";
    head.appendChild(th);
  });
  const body = table.tBodies[0];
  answer.output_tokens.forEach((token, t) => {
    const row = body.insertRow(), th = document.createElement("th");
    th.textContent = shown(token);
    row.appendChild(th);
    answer.attention[t].forEach((weight, s) => {
      const cell = row.insertCell(), fade = Math.round(255 * (1 - weight));
      cell.style.background = `rgb(${fade},${fade},${fade})`;
      cell.title = `${shown(token)} → ${shown(answer.source_tokens[s])}: ${weight.toFixed(3)}`;
    });
  });
}

start().catch(error => { $("model").textContent = `cannot reach the tinyrnn server (${error})`; });
