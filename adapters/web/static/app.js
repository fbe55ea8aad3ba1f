// tourguide web page: AG-UI events over SSE in, messages out. Every piece of user or model text is put in
// the page with textContent (never innerHTML), and links are only ever http(s).
"use strict";

const $ = (id) => document.getElementById(id);
const runs = new Map(); // task ID -> {el, steps, started, texts, answered, done}
let csrf = "";

const ICONS = { sunny: "☀️", partly_cloudy: "⛅", cloudy: "☁️", fog: "🌫️", drizzle: "🌦️", rain: "🌧️",
                heavy_rain: "🌧️", thunderstorm: "⛈️", snow: "❄️" };
const STEP_NAMES = { weather: "Weather agent", travel: "Travel agent" };
// The words of a run come from the server in the request's language (bot/wording/cards.py); these are only
// the fallback for an event that carries none.
const FALLBACK = { locale: "en", reading: "Reading your request…", progress: "Progress", working: "working…", task: "task", trace: "trace",
  took: "took {s} s", conditions: {}, sources: {}, rain: "rain {p}%", indoor: "indoor", outdoor: "outdoor",
  drive: "{h} h drive", full_text: "Full text", weather_sentence: "{condition}, {min} to {max} °C, rain {p}% ({source})",
  activity_sentence: "{time} {name}, {place}", drive_sentence: ", {h} h drive", chart_title: "Temperature and rain",
  chart_day: "{date}: {min} to {max} °C, rain {p}%", chart_max: "high °C", chart_min: "low °C", chart_rain: "rain %" };
const reading = []; // "reading your request…" bubbles waiting for their run, oldest first
// The page's own words, in the browser's language, come with the session (bot/wording/page.py).
let words = { live: "live", reconnecting: "reconnecting…", too_many: "Too many requests: try again in {s} s.",
  not_sent: "Could not send: {error}", unreachable: "Could not reach the server: {error}",
  new_conversation: "New conversation: the next request starts from scratch.", search_failed: "Search failed: {error}",
  no_match: "No task of yours matches.", hops_over: "{n} hops over {t}" };
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

function fill(template, values) {
  // "{p}" and the like replaced by their value; the template is ours, the values are put in as text anyway.
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

// ---- the conversation -------------------------------------------------------------------------------

function addBubble(node) {
  $("messages").append(node);
  node.scrollIntoView({ block: "end" });
}

function userMessage(value) {
  addBubble(el("li", { class: "bubble user", "data-event": value.event_id, text: value.text }));
  // Something at once: the request is being read until its run (and its first step) comes.
  const waiting = el("li", { class: "bubble bot pending", role: "status", "data-event": value.event_id },
                     el("span", { class: "reading", text: value.reading || FALLBACK.reading }));
  reading.push(waiting);
  addBubble(waiting);
}

function runFor(taskId, at, labels) {
  let run = runs.get(taskId);
  if (run) {
    if (labels) run.labels = labels;
    return run;
  }
  const words = labels || FALLBACK;
  const steps = el("ol", { class: "steps", "aria-label": words.progress });
  const status = el("span", { class: "run-status", text: words.working });
  const traceLink = el("a", { href: "#trace", text: words.trace });
  traceLink.addEventListener("click", (e) => { e.preventDefault(); openTrace(taskId); });
  const head = el("div", { class: "run-head" }, el("span", { class: "task-id", text: words.task + " " + taskId }),
                  status, traceLink);
  const node = el("li", { class: "bubble bot run", "data-task": taskId }, head, steps);
  run = { el: node, steps, status, labels: words, started: at || Date.now(), texts: [], answered: false, done: false };
  runs.set(taskId, run);
  const waiting = reading.shift();
  if (waiting) { // the request's "reading…" line stays in the run until its first step replaces it
    steps.append(el("li", { class: "reading" }, waiting.querySelector(".reading")));
    waiting.replaceWith(node);
  } else addBubble(node);
  return run;
}

function notTaken(value) {
  // The message did not become a request: nothing will replace its "reading…" line.
  const i = reading.findIndex((node) => node.dataset.event === value.event_id);
  if (i >= 0) reading.splice(i, 1)[0].remove();
}

function stopReading(run) { for (const line of run.steps.querySelectorAll(".reading")) line.remove(); }

function stepStarted(run, name, raw, at) {
  // Names and states come from the server in the request's language; the fallbacks are for old events.
  stopReading(run);
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
    item.querySelector(".elapsed").textContent = fill(run.labels.took,
                                                      { s: ((at - Number(item.dataset.at)) / 1000).toFixed(1) });
  }
}

function stepDraft(run, name, text) {
  // the plan as the model writes it, as plain text under its step; the answer removes it
  if (run.answered) return;
  const item = openStep(run, name);
  if (!item) return;
  let draft = item.querySelector(".draft");
  if (!draft) {
    draft = document.createElement("div");
    draft.className = "draft";
    draft.style.whiteSpace = "pre-wrap";
    item.append(draft);
  }
  draft.textContent = text;
}

function finishRun(run, status, outcome, at) {
  run.done = true;
  stopReading(run);
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

function conditionName(w, L) { return (L.conditions || {})[w.condition] || w.condition.replace(/_/g, " "); }

function sourceName(w, L) { return (L.sources || {})[w.source] || w.source; }

function weatherRow(w, L) {
  return el("div", { class: "weather" },
    el("span", { class: "icon", "aria-hidden": "true", text: ICONS[w.condition] || "🌡️" }),
    el("span", { class: "condition", "data-condition": w.condition, text: conditionName(w, L) }),
    el("span", { class: "temps" }, el("span", { class: "tmin", text: Math.round(w.temp_min_c) + "°" }),
       document.createTextNode(" – "), el("span", { class: "tmax", text: Math.round(w.temp_max_c) + "°C" })),
    el("span", { class: "rain-chance", text: fill(L.rain, { p: w.precipitation_probability }) }),
    el("span", { class: "label " + w.source, "data-source": w.source, text: sourceName(w, L) }));
}

function weatherSentence(w, L) {
  return fill(L.weather_sentence, { condition: conditionName(w, L), min: Math.round(w.temp_min_c),
                                    max: Math.round(w.temp_max_c), p: w.precipitation_probability,
                                    source: sourceName(w, L) });
}

function dayCard(day, w, L) {
  const card = el("article", { class: "day-card", "data-date": day.date });
  card.append(el("div", { class: "date", text: day.date + (day.city ? " · " + day.city : "") }),
              el("h4", { text: day.title }));
  if (w) card.append(weatherRow(w, L));
  const list = el("ul", { class: "activities" });
  const spoken = [];
  for (const a of day.activities || []) {
    const item = el("li", {}, el("span", { class: "time", text: a.time }), el("span", { class: "name", text: a.name }));
    const place = a.indoor ? L.indoor : L.outdoor;
    if (a.kind !== "travel" && a.kind !== "meal" && a.kind !== "snack") {
      item.append(el("span", { class: "mark " + (a.indoor ? "indoor" : "outdoor"), text: (a.indoor ? "🏠 " : "🌳 ") + place }));
    }
    if (a.drive_hours) item.append(el("span", { class: "mark drive", text: "🚗 " + fill(L.drive, { h: a.drive_hours }) }));
    list.append(item);
    spoken.push(fill(L.activity_sentence, { time: a.time, name: a.name, place }) +
                (a.drive_hours ? fill(L.drive_sentence, { h: a.drive_hours }) : ""));
  }
  card.append(list);
  card.setAttribute("aria-label", `${day.date} ${day.title}` + (w ? ": " + weatherSentence(w, L) : ""));
  card.append(el("p", { class: "sr-only", text: spoken.join("; ") }));
  return card;
}

function niceStep(range) {
  for (const step of [1, 2, 5, 10, 20]) if (range / step <= 5) return step;
  return 50;
}

function weekday(date, locale) {
  const day = new Date(date + "T12:00:00");
  return Number.isNaN(day.getTime()) ? "" : day.toLocaleDateString(locale || "en", { weekday: "short" });
}

function legend(L) {
  // In HTML above the drawing, so it wraps on a narrow screen instead of crowding the plot.
  const item = (cls, text) => el("span", { class: "key" }, el("span", { class: "swatch " + cls }), el("span", { text }));
  return el("div", { class: "chart-legend", "aria-hidden": "true" },
            item("tmax", L.chart_max), item("tmin", L.chart_min), item("rain", L.chart_rain));
}

function chart(days, L) {
  // One column per day: rain-chance bars on the right-hand scale (0–100 %), the daily high and low lines on
  // the left-hand °C scale, the date and weekday under each bar.
  const left = 40, right = 40, top = 26, bottom = 140;
  const col = Math.max(64, (320 - left - right) / days.length); // a short trip still spans the plot
  const width = Math.max(320, left + right + col * days.length), height = 174;
  const temps = days.flatMap((d) => [d.temp_min_c, d.temp_max_c]);
  const step = niceStep(Math.max(...temps) - Math.min(...temps) + 4);
  const lo = Math.floor((Math.min(...temps) - 2) / step) * step;
  const hi = Math.max(lo + step, Math.ceil((Math.max(...temps) + 3) / step) * step);
  const x = (i) => left + col * (i + 0.5);
  const y = (t) => bottom - ((t - lo) / (hi - lo)) * (bottom - top);
  const yRain = (p) => bottom - (p / 100) * (bottom - top);
  const text = (attrs, value) => { const t = svg("text", attrs); t.textContent = value; return t; };
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`,
                            width: Math.round(width * 1.5), height: Math.round(height * 1.5), role: "img" });
  const summary = days.map((d) => fill(L.chart_day, { date: d.date, min: Math.round(d.temp_min_c),
                                                      max: Math.round(d.temp_max_c), p: d.precipitation_probability }));
  root.setAttribute("aria-label", L.chart_title + ". " + summary.join("; "));
  const title = svg("title"); title.textContent = L.chart_title; root.append(title);
  for (let t = lo; t <= hi; t += step) { // the °C scale: a grid line and its figure on the left
    root.append(svg("line", { class: "grid", x1: left, y1: y(t), x2: width - right, y2: y(t) }));
    root.append(text({ class: "axis-temp", x: left - 5, y: y(t) + 3.5, "text-anchor": "end" }, t + "°"));
  }
  for (const p of [0, 50, 100]) { // the rain scale on the right
    root.append(svg("line", { class: "axis", x1: width - right, y1: yRain(p), x2: width - right + 3, y2: yRain(p) }));
    root.append(text({ class: "axis-rain", x: width - right + 5, y: yRain(p) + 3.5 }, p + "%"));
  }
  root.append(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: bottom }));
  root.append(svg("line", { class: "axis", x1: width - right, y1: top, x2: width - right, y2: bottom }));
  root.append(text({ class: "axis-title", x: left - 5, y: top - 14, "text-anchor": "end" }, "°C"));
  root.append(text({ class: "axis-title", x: width - right + 5, y: top - 14 }, "%"));
  days.forEach((d, i) => {
    const h = bottom - yRain(d.precipitation_probability);
    root.append(svg("rect", { class: "rain", x: x(i) - 12, y: bottom - h, width: 24, height: h }));
    root.append(text({ class: "day", x: x(i), y: bottom + 14, "text-anchor": "middle" }, d.date.slice(5)));
    root.append(text({ class: "weekday", x: x(i), y: bottom + 27, "text-anchor": "middle" }, weekday(d.date, L.locale)));
  });
  root.append(svg("line", { class: "axis", x1: left, y1: bottom, x2: width - right, y2: bottom }));
  for (const [key, cls, dy] of [["temp_max_c", "tmax", -6], ["temp_min_c", "tmin", 13]]) {
    const points = days.map((d, i) => `${x(i)},${y(d[key]).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { class: cls, points, fill: "none", "stroke-width": 2 }));
    days.forEach((d, i) => {
      root.append(svg("circle", { class: cls, cx: x(i), cy: y(d[key]).toFixed(1), r: 2.5 }));
      root.append(text({ class: "value " + cls, x: x(i), y: y(d[key]) + dy, "text-anchor": "middle" },
                       Math.round(d[key]) + "°"));
    });
  }
  return el("figure", { class: "chart-box" }, legend(L), root);
}

function renderAnswer(run, data) {
  const L = data.labels || run.labels;
  run.labels = L;
  const weather = new Map((data.weather || []).map((w) => [w.date, w]));
  const plan = data.itinerary || [];
  const visual = el("div", { class: "visual" });
  if (plan.length || weather.size) {
    const days = el("div", { class: "days", role: "list" });
    const cards = plan.length ? plan.map((d) => dayCard(d, weather.get(d.date), L))
                              : [...weather.values()].map((w) => dayCard({ date: w.date, title: "", activities: [] }, w, L));
    for (const card of cards) { card.setAttribute("role", "listitem"); days.append(card); }
    if (weather.size) visual.append(chart([...weather.values()], L));
    visual.append(days);
  }
  run.answerVisual = visual;
  placeAnswer(run);
}

function placeAnswer(run) {
  // Cards first, when there are any (the text then folds away); the text alone otherwise.
  if (!run.answerText || !run.answerVisual || run.placed) return;
  run.placed = true;
  stopReading(run);
  if (run.answerVisual.childElementCount) {
    const details = el("details", { class: "full-text" }, el("summary", { text: run.labels.full_text }), run.answerText);
    run.el.append(run.answerVisual, details);
  } else run.el.append(run.answerText);
}

// ---- AG-UI events -----------------------------------------------------------------------------------

function handle(event) {
  const at = event.timestamp || Date.now();
  const raw = event.rawEvent || {};
  switch (event.type) {
    case "RUN_STARTED": runFor(event.runId, at, raw.labels); break;
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
      run.el.querySelectorAll(".draft").forEach((draft) => draft.remove());
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
  else if (name === "not_taken") notTaken(value);
  else if (name === "step_slow") stepState(runFor(value.task_id, at), value.step, "slow", value.state || "slow", at);
  else if (name === "step_delivery") stepDelivery(runFor(value.task_id, at), value);
  else if (name === "step_queued" && value.text) stepState(runFor(value.task_id, at), value.step, "queued", value.text, at);
  else if (name === "step_draft" && value.text) stepDraft(runFor(value.task_id, at), value.step, value.text);
  else if (name === "step_failed") stepState(runFor(value.task_id, at), value.step, "failed", value.state || "failed", at);
  else if (name === "answer" && value.task_id) {
    const run = runFor(value.task_id, at, value.labels);
    if (!run.answerVisual) renderAnswer(run, value);
  }
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => { $("connection").textContent = words.live; $("connection").dataset.state = "live"; };
  source.onerror = () => {
    $("connection").textContent = words.reconnecting;
    $("connection").dataset.state = "reconnecting";
  };
  source.onmessage = (message) => {
    try { handle(JSON.parse(message.data)); } catch (err) { console.error(err); }
  };
}

// ---- sending ----------------------------------------------------------------------------------------

async function session() {
  const response = await fetch("/api/session", { credentials: "same-origin" });
  const body = await response.json();
  csrf = body.csrf;
  if (body.words) { words = { ...words, ...body.words }; applyWords(); }
}

function applyWords() {
  // The static page is written in English; these put it in the browser's language.
  if (words.lang) document.documentElement.lang = words.lang;
  const put = (attr, apply) => {
    for (const node of document.querySelectorAll(`[${attr}]`)) {
      const text = words[node.getAttribute(attr)];
      if (text) apply(node, text);
    }
  };
  put("data-word", (node, text) => { node.textContent = text; });
  put("data-word-placeholder", (node, text) => { node.placeholder = text; });
  put("data-word-title", (node, text) => { node.title = text; });
  put("data-word-label", (node, text) => { node.setAttribute("aria-label", text); });
}

async function send(text, retried) {
  const response = await fetch("/api/messages", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify({ text }),
  });
  if (response.status === 403 && !retried) { await session(); return send(text, true); } // server restarted
  if (response.status === 429) {
    const body = await response.json();
    $("notice").textContent = fill(words.too_many, { s: Math.ceil(body.retry_after_s) });
    return;
  }
  if (!response.ok) { $("notice").textContent = fill(words.not_sent, { error: await response.text() }); return; }
  const body = await response.json();
  if (body.new_conversation) addBubble(el("li", { class: "bubble bot", text: words.new_conversation }));
}

function onSubmit(e) {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  $("notice").textContent = "";
  send(text, false).catch((err) => { $("notice").textContent = fill(words.not_sent, { error: err }); });
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
            el("h3", { text: task.task_id + " · " + fill(words.hops_over, { n: hops.length, t: ms(span * 1000) }) }), axis, list);
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
  if (!response.ok) { results.append(el("p", { text: fill(words.search_failed, { error: response.status }) })); return; }
  const body = await response.json();
  if (!body.tasks.length) results.append(el("p", { text: words.no_match }));
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
  session().then(connect, (err) => { $("notice").textContent = fill(words.unreachable, { error: err }); });
});
