// tourguide web page: AG-UI events over SSE in, messages out. Every piece of user or model text is put in
// the page with textContent (never innerHTML), and links are only ever http(s).
"use strict";

const $ = (id) => document.getElementById(id);
const runs = new Map(); // task ID -> {el, steps, started, texts, answered, done}
let csrf = "";

const ICONS = { sunny: "☀️", partly_cloudy: "⛅", cloudy: "☁️", fog: "🌫️", drizzle: "🌦️", rain: "🌧️",
                heavy_rain: "🌧️", thunderstorm: "⛈️", snow: "❄️" };
const SOURCE_LABELS = { forecast: "forecast", climate: "climate", offline: "offline estimate" };
const STEP_NAMES = { weather: "Weather agent", travel: "Travel agent" };
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  return node;
}

function seconds(ms) { return (ms / 1000).toFixed(1) + " s"; }

// ---- the conversation -------------------------------------------------------------------------------

function addBubble(node) {
  $("messages").append(node);
  node.scrollIntoView({ block: "end" });
}

function userMessage(value) {
  addBubble(el("li", { class: "bubble user", "data-event": value.event_id, text: value.text }));
}

function runFor(taskId, at) {
  let run = runs.get(taskId);
  if (run) return run;
  const steps = el("ol", { class: "steps", "aria-label": "Progress" });
  const status = el("span", { class: "run-status", text: "working…" });
  const traceLink = el("a", { href: "#trace", text: "trace" });
  traceLink.addEventListener("click", (e) => { e.preventDefault(); openTrace(taskId); });
  const head = el("div", { class: "run-head" }, el("span", { text: "task " + taskId }), status, traceLink);
  const node = el("li", { class: "bubble bot run", "data-task": taskId }, head, steps);
  run = { el: node, steps, status, started: at || Date.now(), texts: [], answered: false, done: false };
  runs.set(taskId, run);
  addBubble(node);
  return run;
}

function stepStarted(run, name, raw, at) {
  // Names and states come from the server in the request's language; the fallbacks are for old events.
  const item = el("li", { class: "step", "data-step": name, "data-status": "sent" },
    el("span", { class: "name", text: raw.label || STEP_NAMES[name] || name }),
    el("span", { class: "state", text: raw.state || "sent" }),
    el("span", { class: "elapsed", text: "+" + seconds(at - run.started) }));
  item.dataset.at = String(at);
  run.steps.append(item);
  const early = (run.deliveries || {})[name]; // the agent picked it up before the page heard it was sent
  if (early) stepDelivery(run, early);
}

function stepDelivery(run, value) {
  // Picked up by an agent (attempt N), or an attempt failed and the broker will deliver it again.
  const item = openStep(run, value.step);
  if (!item) { run.deliveries = { ...(run.deliveries || {}), [value.step]: value }; return; }
  item.dataset.attempt = String(value.attempt);
  if (item.dataset.status === "sent" || item.dataset.status === "retrying") {
    item.dataset.status = value.failed || value.attempt > 1 ? "retrying" : "sent";
    item.querySelector(".state").textContent = value.state;
  }
}

function openStep(run, name) {
  const items = run.steps.querySelectorAll(".step");
  for (const item of items) if (item.dataset.step === name && item.dataset.status === "sent") return item;
  for (const item of items) if (item.dataset.step === name && ["slow", "queued", "retrying"].includes(item.dataset.status)) return item;
  return null;
}

function stepState(run, name, status, label, at) {
  const item = openStep(run, name);
  if (!item) return;
  item.dataset.status = status;
  item.querySelector(".state").textContent = label;
  if (!["slow", "queued", "retrying"].includes(status)) {
    item.querySelector(".elapsed").textContent = "took " + seconds(at - Number(item.dataset.at));
  }
}

function finishRun(run, status, outcome, at) {
  run.done = true;
  run.el.dataset.outcome = status;
  run.status.textContent = (outcome || status) + " · " + seconds(at - run.started);
}

// ---- the answer: Markdown as text, and the itinerary as day cards ----------------------------------------

function inline(parent, text) {
  // **bold**, _italic_ and [label](http...) links; everything else (and every other link scheme) stays text.
  const pattern = /\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|(?<![\w])_([^_]+)_(?![\w])/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parent.append(document.createTextNode(text.slice(last, match.index)));
    if (match[1] !== undefined) parent.append(el("strong", { text: match[1] }));
    else if (match[4] !== undefined) parent.append(el("em", { text: match[4] }));
    else if (/^https?:\/\//i.test(match[3])) {
      parent.append(el("a", { href: match[3], rel: "noopener noreferrer nofollow", target: "_blank", text: match[2] }));
    } else parent.append(document.createTextNode(match[0]));
    last = match.index + match[0].length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

function markdown(text) {
  const root = el("div", { class: "answer-text" });
  let list = null;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    if (bullet) {
      if (!list) { list = el("ul"); root.append(list); }
      const item = el("li"); inline(item, bullet[1]); list.append(item);
      continue;
    }
    list = null;
    if (heading) { const h = el(heading[1].length <= 2 ? "h3" : "h4"); inline(h, heading[2]); root.append(h); }
    else if (line.trim()) { const p = el("p"); inline(p, line); root.append(p); }
  }
  return root;
}

function weatherRow(w) {
  const source = SOURCE_LABELS[w.source] || w.source;
  return el("div", { class: "weather" },
    el("span", { class: "icon", "aria-hidden": "true", text: ICONS[w.condition] || "🌡️" }),
    el("span", { class: "condition", text: w.condition.replace("_", " ") }),
    el("span", { class: "temps" }, el("span", { class: "tmin", text: Math.round(w.temp_min_c) + "°" }),
       document.createTextNode(" – "), el("span", { class: "tmax", text: Math.round(w.temp_max_c) + "°C" })),
    el("span", { class: "rain-chance", text: "rain " + w.precipitation_probability + "%" }),
    el("span", { class: "label " + w.source, "data-source": w.source, text: source }));
}

function weatherSentence(w) {
  return `${w.condition.replace("_", " ")}, ${Math.round(w.temp_min_c)} to ${Math.round(w.temp_max_c)} °C, ` +
         `rain chance ${w.precipitation_probability}% (${SOURCE_LABELS[w.source] || w.source})`;
}

function dayCard(day, w) {
  const card = el("article", { class: "day-card", "data-date": day.date });
  card.append(el("div", { class: "date", text: day.date + (day.city ? " · " + day.city : "") }),
              el("h4", { text: day.title }));
  if (w) card.append(weatherRow(w));
  const list = el("ul", { class: "activities" });
  const spoken = [];
  for (const a of day.activities || []) {
    const item = el("li", {}, el("span", { class: "time", text: a.time }), el("span", { class: "name", text: a.name }));
    const place = a.indoor ? "indoor" : "outdoor";
    if (a.kind !== "travel" && a.kind !== "meal" && a.kind !== "snack") {
      item.append(el("span", { class: "mark " + place, text: a.indoor ? "🏠 indoor" : "🌳 outdoor" }));
    }
    if (a.drive_hours) item.append(el("span", { class: "mark drive", text: "🚗 " + a.drive_hours + " h drive" }));
    list.append(item);
    spoken.push(`${a.time} ${a.name}, ${place}` + (a.drive_hours ? `, ${a.drive_hours} hours' drive` : ""));
  }
  card.append(list);
  card.setAttribute("aria-label", `${day.date} ${day.title}` + (w ? ": " + weatherSentence(w) : ""));
  card.append(el("p", { class: "sr-only", text: spoken.join("; ") }));
  return card;
}

function chart(days) {
  // Temperature lines (max red, min blue) over rain-chance bars, one column per day.
  const width = Math.max(240, 70 * days.length + 40), height = 150, top = 12, bottom = 120, left = 30;
  const temps = days.flatMap((d) => [d.temp_min_c, d.temp_max_c]);
  const lo = Math.floor(Math.min(...temps) - 2), hi = Math.ceil(Math.max(...temps) + 2);
  const x = (i) => left + 35 + i * 70;
  const y = (t) => bottom - ((t - lo) / (hi - lo || 1)) * (bottom - top);
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`,
                                 width: Math.round(width * 1.5), height: Math.round(height * 1.5), role: "img" });
  const summary = days.map((d) => `${d.date}: ${Math.round(d.temp_min_c)}–${Math.round(d.temp_max_c)} °C, ` +
                                  `rain ${d.precipitation_probability}%`).join("; ");
  root.setAttribute("aria-label", "Temperature and rain over the trip. " + summary);
  const title = svg("title"); title.textContent = "Temperature and rain over the trip"; root.append(title);
  days.forEach((d, i) => {
    const h = (d.precipitation_probability / 100) * (bottom - top);
    root.append(svg("rect", { class: "rain", x: x(i) - 12, y: bottom - h, width: 24, height: h }));
    const label = svg("text", { x: x(i), y: bottom + 14, "text-anchor": "middle" });
    label.textContent = d.date.slice(5); root.append(label);
    const rain = svg("text", { x: x(i), y: bottom + 27, "text-anchor": "middle" });
    rain.textContent = d.precipitation_probability + "%"; root.append(rain);
  });
  for (const [key, cls] of [["temp_max_c", "tmax"], ["temp_min_c", "tmin"]]) {
    const points = days.map((d, i) => `${x(i)},${y(d[key]).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { class: cls, points, fill: "none", "stroke-width": 2 }));
    days.forEach((d, i) => {
      const t = svg("text", { x: x(i), y: y(d[key]) + (cls === "tmax" ? -5 : 12), "text-anchor": "middle" });
      t.textContent = Math.round(d[key]) + "°"; root.append(t);
    });
  }
  const axis = svg("text", { x: 2, y: top + 4 }); axis.textContent = hi + "°"; root.append(axis);
  // Legend: what each mark is (max, min, rain chance).
  [["tmax", "max °C"], ["tmin", "min °C"]].forEach(([cls, label], i) => {
    const x0 = width - 150 + i * 60;
    root.append(svg("line", { class: cls, x1: x0, y1: 6, x2: x0 + 14, y2: 6, "stroke-width": 2 }));
    const t = svg("text", { x: x0 + 17, y: 9 }); t.textContent = label; root.append(t);
  });
  root.append(svg("rect", { class: "rain", x: width - 30, y: 1, width: 8, height: 9 }));
  const r = svg("text", { x: width - 19, y: 9 }); r.textContent = "%"; root.append(r);
  return root;
}

function renderAnswer(run, data) {
  const weather = new Map((data.weather || []).map((w) => [w.date, w]));
  const plan = data.itinerary || [];
  const visual = el("div", { class: "visual" });
  if (plan.length || weather.size) {
    const days = el("div", { class: "days", role: "list" });
    const cards = plan.length ? plan.map((d) => dayCard(d, weather.get(d.date)))
                              : [...weather.values()].map((w) => dayCard({ date: w.date, title: "", activities: [] }, w));
    for (const card of cards) { card.setAttribute("role", "listitem"); days.append(card); }
    if (weather.size) visual.append(chart([...weather.values()]));
    visual.append(days);
  }
  run.answerVisual = visual;
  placeAnswer(run);
}

function placeAnswer(run) {
  // Cards first, when there are any (the text then folds away); the text alone otherwise.
  if (!run.answerText || !run.answerVisual || run.placed) return;
  run.placed = true;
  if (run.answerVisual.childElementCount) {
    const details = el("details", { class: "full-text" }, el("summary", { text: "Full text" }), run.answerText);
    run.el.append(run.answerVisual, details);
  } else run.el.append(run.answerText);
}

// ---- AG-UI events -----------------------------------------------------------------------------------

function handle(event) {
  const at = event.timestamp || Date.now();
  const raw = event.rawEvent || {};
  switch (event.type) {
    case "RUN_STARTED": runFor(event.runId, at); break;
    case "STEP_STARTED": if (raw.task_id) stepStarted(runFor(raw.task_id, at), event.stepName, raw, at); break;
    case "STEP_FINISHED":
      if (raw.task_id && raw.status === "ok") stepState(runFor(raw.task_id, at), event.stepName, "ok", raw.state || "done", at);
      break;
    case "TEXT_MESSAGE_START": {
      const run = runFor(event.messageId, at);
      if (!run.answered) run.texts = [];
      break;
    }
    case "TEXT_MESSAGE_CONTENT": { const run = runFor(event.messageId, at); if (!run.answered) run.texts.push(event.delta); break; }
    case "TEXT_MESSAGE_END": {
      const run = runFor(event.messageId, at);
      if (run.answered) break; // the same answer again (a second delivery): shown once
      run.answered = true;
      run.answerText = markdown(run.texts.join(""));
      placeAnswer(run);
      break;
    }
    case "RUN_FINISHED": {
      const result = event.result || {};
      finishRun(runFor(event.runId, at), result.status || "completed", result.outcome, at);
      break;
    }
    case "RUN_ERROR": if (raw.task_id) finishRun(runFor(raw.task_id, at), event.code || "failed", raw.outcome, at); break;
    case "CUSTOM": custom(event.name, event.value || {}, at); break;
  }
}

function custom(name, value, at) {
  if (name === "user_message") userMessage(value);
  else if (name === "step_slow") stepState(runFor(value.task_id, at), value.step, "slow", value.state || "slow", at);
  else if (name === "step_delivery") stepDelivery(runFor(value.task_id, at), value);
  else if (name === "step_queued" && value.text) stepState(runFor(value.task_id, at), value.step, "queued", value.text, at);
  else if (name === "step_failed") stepState(runFor(value.task_id, at), value.step, "failed", value.state || "failed", at);
  else if (name === "answer" && value.task_id) {
    const run = runFor(value.task_id, at);
    if (!run.answerVisual) renderAnswer(run, value);
  }
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => { $("connection").textContent = "live"; };
  source.onerror = () => { $("connection").textContent = "reconnecting…"; };
  source.onmessage = (message) => {
    try { handle(JSON.parse(message.data)); } catch (err) { console.error(err); }
  };
}

// ---- sending ----------------------------------------------------------------------------------------

async function session() {
  const response = await fetch("/api/session", { credentials: "same-origin" });
  csrf = (await response.json()).csrf;
}

async function send(text, retried) {
  const response = await fetch("/api/messages", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify({ text }),
  });
  if (response.status === 403 && !retried) { await session(); return send(text, true); } // server restarted
  if (response.status === 429) {
    const body = await response.json();
    $("notice").textContent = `Too many requests: try again in ${Math.ceil(body.retry_after_s)} s.`;
    return;
  }
  if (!response.ok) { $("notice").textContent = "Could not send: " + (await response.text()); return; }
  const body = await response.json();
  if (body.new_conversation) addBubble(el("li", { class: "bubble bot", text: "New conversation: the next request starts from scratch." }));
}

function onSubmit(e) {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  $("notice").textContent = "";
  send(text, false).catch((err) => { $("notice").textContent = "Could not send: " + err; });
}

// ---- trace view -------------------------------------------------------------------------------------

let traceTimer = 0;

function showView(trace) {
  // The timeline refreshes while it is shown: hops of a running task keep arriving.
  clearInterval(traceTimer);
  if (trace) traceTimer = setInterval(() => searchTraces().catch(() => {}), 2000);
  $("chat-view").hidden = trace;
  $("trace-view").hidden = !trace;
  $("tab-chat").setAttribute("aria-pressed", String(!trace));
  $("tab-trace").setAttribute("aria-pressed", String(trace));
}

function openTrace(taskId) {
  showView(true);
  $("trace-q").value = taskId;
  searchTraces();
}

function ms(value) { return value < 1000 ? value.toFixed(0) + " ms" : (value / 1000).toFixed(2) + " s"; }

function traceBlock(task) {
  const hops = task.hops;
  const t0 = hops.length ? hops[0].at : 0, span = hops.length ? (hops[hops.length - 1].at - t0) || 1 : 1;
  const axis = el("div", { class: "axis", "aria-hidden": "true" });
  const list = el("ol", { class: "hops" });
  hops.forEach((h, i) => {
    const bad = /fail|nack|dead|retry|timeout/i.test(h.hop + " " + h.detail);
    const tick = el("span", { class: "tick" + (bad ? " bad" : ""), title: `${h.hop} ${h.detail}` });
    tick.style.left = ((h.at - t0) / span * 100).toFixed(2) + "%";
    axis.append(tick);
    const delta = i ? "Δ " + ms((h.at - hops[i - 1].at) * 1000) : "";
    list.append(el("li", { class: "hop", "data-hop": h.hop },
      el("span", { class: "offset", text: "+" + ms((h.at - t0) * 1000) }),
      el("span", { class: "delta", text: delta }),
      el("span", { class: "name", text: h.hop }),
      el("span", { class: "detail", text: h.detail })));
  });
  return el("section", { class: "trace", "data-task": task.task_id },
            el("h3", { text: task.task_id + ` · ${hops.length} hops over ${ms(span * 1000)}` }), axis, list);
}

async function searchTraces(e) {
  if (e) e.preventDefault();
  const headers = {};
  const admin = $("admin-token").value.trim();
  if (admin) headers["X-Admin-Token"] = admin;
  const response = await fetch("/api/trace?q=" + encodeURIComponent($("trace-q").value.trim()),
                               { credentials: "same-origin", headers });
  const results = $("trace-results");
  results.replaceChildren();
  if (!response.ok) { results.append(el("p", { text: "Search failed: " + response.status })); return; }
  const body = await response.json();
  if (!body.tasks.length) results.append(el("p", { text: "No task of yours matches." }));
  for (const task of body.tasks) results.append(traceBlock(task));
}

// ---- start ------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("composer").addEventListener("submit", onSubmit);
  $("text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("new-conversation").addEventListener("click", () => send("/new", false));
  $("tab-chat").addEventListener("click", () => showView(false));
  $("tab-trace").addEventListener("click", () => { showView(true); searchTraces(); });
  $("trace-search").addEventListener("submit", searchTraces);
  session().then(connect, (err) => { $("notice").textContent = "Could not reach the server: " + err; });
});
