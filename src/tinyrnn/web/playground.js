// The tinyrnn playground: a classifier explained as you type, or a language model sampled
// token by token (a translation model has a page of its own: translate.js). Talks to the
// JSON API of tinyrnn/server.py; writes only textContent and SVG/canvas drawings, never HTML
// built from text.
"use strict";

const COLORS = ["#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const WIDTH = 760, LEFT = 60, RIGHT = 110;      // the chart and the heatmap share their columns
const column = n => (WIDTH - LEFT - RIGHT) / n;
const centre = (t, n) => LEFT + (t + 0.5) * column(n);
const $ = id => document.getElementById(id);

async function start() {
  const info = await (await fetch("/api/info")).json();
  if (info.task === "seq2seq") { location.replace("/translate"); return; }     // the translation page
  $("model").textContent = `${info.name}: ${info.description}`;
  if (info.task === "classify") startClassifier(info); else startGenerator(info);
}

// ---- classifiers -------------------------------------------------------------------------

function startClassifier(info) {
  $("classifier").hidden = false;
  const input = $("text");
  let latest = 0, timer = null;
  async function ask() {
    const asked = ++latest, text = input.value;
    if (!text.trim()) { clearClassifier(); return; }
    let response, answer;
    try {
      response = await fetch("/api/explain", {method: "POST", headers: {"Content-Type": "application/json"},
                                             body: JSON.stringify({text})});
      answer = await response.json();
    } catch (error) {
      if (asked === latest) $("status").textContent = `no answer from the server (${error})`;
      return;
    }
    if (asked !== latest) return;                  // a newer request is on its way
    if (!response.ok) { clearClassifier(); $("status").textContent = answer.error; return; }
    showExplanation(answer, info.classes);
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 120); });
  if (input.value.trim()) ask();
}

function clearClassifier() {
  $("results").hidden = true;
  $("label").textContent = "–";
  $("probability").textContent = "";
  $("status").textContent = "";
  $("trajectory").replaceChildren();
  $("heatmap").getContext("2d").clearRect(0, 0, $("heatmap").width, $("heatmap").height);
  $("words").tHead.replaceChildren();
  $("words").tBodies[0].replaceChildren();
}

function showExplanation(answer, classes) {
  $("label").textContent = answer.label;
  $("probability").textContent = answer.probabilities[answer.label].toFixed(3);
  const unknown = answer.words.filter(w => !w.known).map(w => w.word);
  $("status").textContent = unknown.length ?
    `not in the vocabulary (read as <unk>): ${unknown.map(word => `“${word}”`).join(" ")}` : "";
  $("results").hidden = false;
  drawTrajectory(answer.words, classes);
  drawHeatmap(answer.hidden, answer.words.length, answer.directions);
  fillTable(answer, classes);
}

function svg(tag, attributes, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawTrajectory(words, classes) {
  const chart = $("trajectory"), height = 220, top = 10, bottom = 50;
  chart.replaceChildren();
  const n = words.length, x = t => centre(t, n);
  const y = p => top + (1 - p) * (height - top - bottom);
  for (const p of [0, 0.5, 1]) {
    chart.appendChild(svg("line", {x1: LEFT, x2: WIDTH - RIGHT, y1: y(p), y2: y(p), stroke: "#ddd"}));
    chart.appendChild(svg("text", {x: LEFT - 6, y: y(p) + 4, "text-anchor": "end", "font-size": 11}, p.toFixed(1)));
  }
  words.forEach((w, t) => chart.appendChild(svg("text", {
    x: x(t), y: height - bottom + 16, "text-anchor": "end", "font-size": 12,
    transform: `rotate(-35 ${x(t)} ${height - bottom + 16})`}, w.known ? w.word : w.word + "?")));
  classes.forEach((name, c) => {
    const color = COLORS[c % COLORS.length];
    const points = words.map((w, t) => `${x(t)},${y(w.probabilities[name])}`).join(" ");
    chart.appendChild(svg("polyline", {points, fill: "none", stroke: color, "stroke-width": 2}));
    words.forEach((w, t) => chart.appendChild(svg("circle", {cx: x(t), cy: y(w.probabilities[name]), r: 3, fill: color})));
    chart.appendChild(svg("text", {x: WIDTH - RIGHT + 10, y: top + 14 + 16 * c, fill: color, "font-size": 13}, name));
  });
}

function drawHeatmap(hidden, n, directions) {
  const canvas = $("heatmap"), context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!hidden.length) return;
  const units = hidden[0].length;
  const limit = Math.max(1e-9, ...hidden.map(row => Math.max(...row.map(Math.abs))));
  const cellWidth = column(n), cellHeight = canvas.height / units;
  for (let t = 0; t < n; t++) {
    for (let u = 0; u < units; u++) {
      const v = hidden[t][u] / limit;
      const fade = Math.round(255 * (1 - Math.abs(v)));
      context.fillStyle = v >= 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
      context.fillRect(LEFT + t * cellWidth, u * cellHeight, Math.ceil(cellWidth), Math.ceil(cellHeight));
    }
  }
  context.fillStyle = "#333";
  context.font = "11px sans-serif";
  context.textAlign = "right";
  context.fillText("unit 0", LEFT - 4, 10);
  context.fillText(`unit ${units - 1}`, LEFT - 4, canvas.height - 2);
  context.textAlign = "left";
  context.fillText(`±${limit.toFixed(2)}`, WIDTH - RIGHT + 8, 10);
  if (directions === 2) {                       // forward units above, reverse units below
    context.fillRect(LEFT, canvas.height / 2 - 0.5, WIDTH - LEFT - RIGHT, 1);
    context.fillText("forward", WIDTH - RIGHT + 8, canvas.height / 4);
    context.fillText("reverse", WIDTH - RIGHT + 8, 3 * canvas.height / 4);
  }
}

function fillTable(answer, classes) {
  const table = $("words");
  table.tHead.replaceChildren();
  const head = table.tHead.insertRow();
  ["word", ...classes.map(c => `p(${c})`), "occlusion", "gradient × input"].forEach(text => {
    const th = document.createElement("th"); th.textContent = text; head.appendChild(th);
  });
  const body = table.tBodies[0];
  body.replaceChildren();
  const scale = Math.max(1e-9, ...answer.words.flatMap(w => [Math.abs(w.occlusion), Math.abs(w.gradient_x_input)]));
  for (const w of answer.words) {
    const row = body.insertRow();
    row.insertCell().textContent = w.known ? w.word : w.word + "?";
    classes.forEach(c => { row.insertCell().textContent = w.probabilities[c].toFixed(3); });
    for (const value of [w.occlusion, w.gradient_x_input]) {
      const cell = row.insertCell(), bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round(40 * Math.abs(value) / scale)}px`;
      bar.style.background = value >= 0 ? "#d62728" : "#1f77b4";
      cell.append(`${value >= 0 ? "+" : ""}${value.toFixed(3)} `, bar);
    }
  }
}

// ---- language models -----------------------------------------------------------------------

function startGenerator(info) {
  $("generator").hidden = false;
  const temperature = $("temperature");
  temperature.addEventListener("input", () => { $("temperature-value").textContent = Number(temperature.value).toFixed(2); });
  let controller = null;
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("generate").addEventListener("click", async () => {
    const request = {prompt: $("prompt").value, temperature: Number(temperature.value),
                     length: Number($("length").value) || 300};
    if ($("top-k").value) request.top_k = Number($("top-k").value);
    if ($("seed").value) request.seed = Number($("seed").value);
    const output = $("output"), promptSpan = document.createElement("span");
    promptSpan.className = "prompt";
    promptSpan.textContent = request.prompt;
    output.replaceChildren(promptSpan);
    $("gen-status").textContent = "";
    controller = new AbortController();
    $("generate").disabled = true; $("stop").disabled = false;
    try {
      const response = await fetch("/api/generate", {method: "POST", headers: {"Content-Type": "application/json"},
                                                     body: JSON.stringify(request), signal: controller.signal});
      if (!response.ok) { $("gen-status").textContent = (await response.json()).error; return; }
      const reader = response.body.getReader(), decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        pending += decoder.decode(value, {stream: true});
        const lines = pending.split("\n");
        pending = lines.pop();
        for (const line of lines.filter(Boolean)) {
          const message = JSON.parse(line);
          if (message.token !== undefined) output.append(message.token);
          if (message.error) $("gen-status").textContent = `generation stopped: ${message.error}`;
          if (message.done) {
            $("gen-status").textContent = message.unknown.length ? "read as <unk> (never seen in training): " +
              message.unknown.map((token) => JSON.stringify(token)).join(", ") : "";
          }
        }
      }
    } catch (error) {
      if (error.name !== "AbortError") $("gen-status").textContent = `generation stopped: ${error}`;
    } finally {
      $("generate").disabled = false; $("stop").disabled = true;
    }
  });
}

start().catch(error => { $("model").textContent = `cannot reach the tinyrnn server (${error})`; });
