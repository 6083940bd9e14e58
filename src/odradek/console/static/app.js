// The odradek console: polls the broker's JSON API and draws tables and SVG line charts.
"use strict";

const COLORS = ["#3b6fd8", "#d8823b", "#2f9e5b", "#b8446f", "#7a5cc7", "#3ba3b8", "#9e8a2f"];
const $ = (sel) => document.querySelector(sel);

async function api(path, options) {
  const res = await fetch(path, options);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

function size(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function fmt(n) {
  if (n === null || n === undefined) return "-";
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + "k";
  if (Number.isInteger(n) || Math.abs(n) >= 100) return String(Math.round(n));
  return n.toFixed(1);
}

// ------------------------------------------------------------------ charts

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// series: [{name, values: [number|null]}], times: [seconds since epoch]
function lineChart(container, series, times) {
  const W = 600, H = 220, L = 48, R = 10, T = 10, B = 24;
  const root = svg("svg", {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none"});
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  max = max > 0 ? max * 1.1 : 1;
  const n = Math.max(times.length, 2);
  const x = (i) => L + (i / (n - 1)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    root.append(svg("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), class: "axis"}));
    const label = svg("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"});
    label.textContent = fmt(v);
    root.append(label);
  }
  if (times.length) {
    for (const [i, anchor] of [[0, "start"], [times.length - 1, "end"]]) {
      const label = svg("text", {x: x(i), y: H - 6, "text-anchor": anchor});
      label.textContent = new Date(times[i] * 1000).toLocaleTimeString();
      root.append(label);
    }
  }
  const legend = el("div", {class: "legend"});
  series.forEach((s, idx) => {
    const color = COLORS[idx % COLORS.length];
    let d = "", points = 0, last = null;
    s.values.forEach((v, i) => {
      if (v === null) return;
      d += (d ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1);
      points++;
      last = v;
    });
    root.append(svg("path", {d: d || "M0,0", fill: "none", stroke: color, "stroke-width": 2,
                             class: "series", "data-name": s.name, "data-points": points,
                             "data-last": last ?? "", "vector-effect": "non-scaling-stroke"}));
    const item = el("span", {style: `--c: ${color}`}, `${s.name}: ${fmt(last)}`);
    legend.append(item);
  });
  if (!series.length) legend.append(el("span", {class: "muted"}, "no data yet"));
  container.replaceChildren(root, legend);
}

// ------------------------------------------------------------------ tables

function renderTopics(topics) {
  const body = $("#topics tbody");
  body.replaceChildren(...topics.map((t) => el("tr", {"data-topic": t.name},
    el("td", {}, t.name),
    el("td", {class: "num"}, t.partitions.length),
    el("td", {class: "num"}, t.records),
    el("td", {class: "num"}, size(t.size_bytes)),
    el("td", {class: "muted"}, t.partitions.map((p) =>
      `${p.partition}: ${p.log_start_offset}…${p.log_end_offset} (${size(p.size_bytes)})`)
      .join(" · ")),
    el("td", {}, el("button", {class: "danger", onclick: () => deleteTopic(t.name)},
                    "Delete")))));
  const select = $("#browse-topic");
  const current = select.value;
  select.replaceChildren(...topics.map((t) => el("option", {value: t.name}, t.name)));
  if (topics.some((t) => t.name === current)) select.value = current;
}

function renderGroups(groups) {
  const body = $("#groups tbody");
  body.replaceChildren(...groups.map((g) => {
    const members = el("table", {},
      el("tr", {}, el("th", {}, "Topic"), el("th", {class: "num"}, "Partition"),
         el("th", {class: "num"}, "Committed"), el("th", {class: "num"}, "End"),
         el("th", {class: "num"}, "Lag"), el("th", {}, "Owner")),
      ...g.partitions.map((p) => el("tr", {},
        el("td", {}, p.topic), el("td", {class: "num"}, p.partition),
        el("td", {class: "num"}, fmt(p.committed_offset)),
        el("td", {class: "num"}, p.log_end_offset), el("td", {class: "num"}, fmt(p.lag)),
        el("td", {}, p.owner ?? "-"))));
    const who = g.members.map((m) => `${m.client_id || "?"} (${m.client_host})`).join(", ");
    return el("tr", {"data-group": g.group_id},
      el("td", {}, g.group_id), el("td", {}, g.type),
      el("td", {}, el("span", {class: "state " + g.state}, g.state)),
      el("td", {class: "num"}, g.members.length), el("td", {class: "num"}, g.lag),
      el("td", {}, el("details", {}, el("summary", {}, who || "no members"), members)));
  }));
}

// ------------------------------------------------------------------ records

function bytesOf(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function show(b64, format) {
  if (b64 === null) return el("span", {class: "muted"}, "null");
  const data = bytesOf(b64);
  if (format === "hex") {
    return el("pre", {}, Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(" "));
  }
  const text = new TextDecoder("utf-8", {fatal: false}).decode(data);
  if (format === "json") {
    try { return el("pre", {}, JSON.stringify(JSON.parse(text), null, 2)); } catch (e) {
      return el("pre", {title: "not JSON"}, text);
    }
  }
  return el("pre", {}, text);
}

async function browse(event) {
  if (event) event.preventDefault();
  const form = new FormData($("#browse"));
  const params = new URLSearchParams({topic: form.get("topic") || "",
                                      partition: form.get("partition") || 0,
                                      limit: form.get("limit") || 20});
  const at = (form.get("at") || "").trim();
  if (form.get("from") === "timestamp" && at) params.set("timestamp", Date.parse(at));
  else if (form.get("from") === "last") params.set("offset", -(Number(form.get("limit")) || 20));
  else if (at) params.set("offset", at);
  const format = form.get("format");
  try {
    const result = await api("/api/records?" + params);
    $("#records tbody").replaceChildren(...result.records.map((r) => el("tr", {},
      el("td", {class: "num"}, r.offset),
      el("td", {}, new Date(r.timestamp).toISOString()),
      el("td", {}, show(r.key, format)), el("td", {}, show(r.value, format)),
      el("td", {}, r.headers.map(([k, v]) => `${k}=${v === null ? "null" :
        new TextDecoder().decode(bytesOf(v))}`).join(", ")))));
    $("#error").textContent = "";
  } catch (e) { $("#error").textContent = e.message; }
}

// ------------------------------------------------------------------ actions

async function createTopic(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const configs = {};
  for (const pair of (form.get("configs") || "").split(",")) {
    const [k, ...v] = pair.split("=");
    if (k.trim()) configs[k.trim()] = v.join("=").trim();
  }
  try {
    await api("/api/topics", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({name: form.get("name"), partitions: Number(form.get("partitions")),
                            configs})});
    event.target.reset();
    $("#error").textContent = "";
    refresh();
  } catch (e) { $("#error").textContent = e.message; }
}

async function deleteTopic(name) {
  if (!confirm(`Delete topic ${name} and all its records?`)) return;
  try {
    await api("/api/topics/" + encodeURIComponent(name), {method: "DELETE"});
    refresh();
  } catch (e) { $("#error").textContent = e.message; }
}

// ------------------------------------------------------------------ polling

async function refresh() {
  try {
    const [overview, topics, groups, series] = await Promise.all([
      api("/api/overview"), api("/api/topics"), api("/api/groups"), api("/api/series")]);
    $("#overview").textContent = `v${overview.version} · cluster ${overview.cluster_id} · ` +
      `${overview.bootstrap} · ${overview.topics} topics, ${overview.partitions} partitions · ` +
      `${overview.groups} groups · ${overview.connections} connections`;
    renderTopics(topics.filter((t) => !t.internal));
    renderGroups(groups);
    lineChart($("#throughput-chart"), Object.entries(series.topics).map(
      ([name, s]) => ({name, values: s.records_per_s})), series.t);
    lineChart($("#lag-chart"), Object.entries(series.groups).map(
      ([name, s]) => ({name, values: s.lag})), series.t);
    document.body.dataset.refreshed = String(Date.now());
  } catch (e) { $("#error").textContent = "cannot reach the broker: " + e.message; }
}

$("#create-topic").addEventListener("submit", createTopic);
$("#browse").addEventListener("submit", browse);
refresh();
setInterval(refresh, 1000);
