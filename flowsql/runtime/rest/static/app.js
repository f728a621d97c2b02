// FlowSQL dashboard: plain JS polling the Flink-compatible REST API (no build step).
"use strict";

const BOX_H = 186, ROW_GAP = 28, PAD = 20, MIN_W = 188, MAX_W = 250;
let BOX_W = 230, COL_GAP = 64;
let refreshMs = 1000;
let timer = null;
let graphKey = null;   // which job/graph is currently drawn

// -- helpers -------------------------------------------------------------------------------
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.errors || [r.statusText]).join("; "));
  return body;
}

const fmtInt = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));

function fmtRate(r) {
  if (r === null || r === undefined) return "";
  if (r >= 1e6) return (r / 1e6).toFixed(1) + "M/s";
  if (r >= 1e3) return (r / 1e3).toFixed(1) + "k/s";
  return r.toFixed(r < 10 ? 1 : 0) + "/s";
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return (ms / 1000).toFixed(s < 10 ? 1 : 0) + " s";
  const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (d > 0) return `${d}d ${h % 24}h`;
  if (h > 0) return `${h}h ${m % 60}m`;
  return `${m}m ${s % 60}s`;
}

function fmtMillis(ms) {
  return ms < 1000 ? `${ms} ms` : fmtDuration(ms);
}

function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return "–";
  const d = new Date(ms);
  const today = new Date();
  const time = d.toLocaleTimeString("en-GB", { hour12: false });
  return d.toDateString() === today.toDateString() ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

function fmtBytes(b) {
  if (b === null || b === undefined || b < 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function badge(state) {
  return el("span", { class: `badge state-${String(state).toLowerCase()}`, text: state });
}

function setStatus(ok, text) {
  const s = $("#status");
  s.textContent = text;
  s.className = "status " + (ok ? "ok" : "down");
}

// -- routing -------------------------------------------------------------------------------
function route() {
  const m = location.hash.match(/^#\/jobs\/([^/]+)/);
  return m ? { view: "job", jid: decodeURIComponent(m[1]) } : { view: "overview" };
}

function show(id) {
  for (const s of ["overview-view", "job-view", "not-found"]) $("#" + s).hidden = s !== id;
}

// -- overview ------------------------------------------------------------------------------
async function refreshOverview() {
  const [ov, jobs, tms] = await Promise.all([
    getJson("/overview"), getJson("/jobs/overview"), getJson("/taskmanagers"),
  ]);
  show("overview-view");
  $("#version").textContent = "v" + ov["flink-version"];
  $("#stat-taskmanagers").textContent = ov.taskmanagers;
  $("#stat-slots").textContent = `${ov["slots-available"]} / ${ov["slots-total"]}`;
  $("#stat-running").textContent = ov["jobs-running"];
  $("#stat-finished").textContent = ov["jobs-finished"];
  $("#stat-cancelled").textContent = ov["jobs-cancelled"];
  $("#stat-failed").textContent = ov["jobs-failed"];

  const rows = jobs.jobs.slice().sort((a, b) => b["start-time"] - a["start-time"]);
  const tbody = $("#jobs-table tbody");
  tbody.replaceChildren(...rows.map((j) => {
    const t = j.tasks;
    const link = el("a", { class: "job-link", href: `#/jobs/${encodeURIComponent(j.jid)}`, text: j.name });
    return el("tr", { class: "job-row", "data-job-id": j.jid },
      el("td", {}, link),
      el("td", { class: "job-state" }, badge(j.state)),
      el("td", { text: fmtTime(j["start-time"]) }),
      el("td", { class: "job-duration", text: fmtDuration(j.duration) }),
      el("td", { text: `${t.running} running / ${t.total}` }),
      el("td", { class: "mono muted", text: j.jid }));
  }));
  $("#jobs-empty").hidden = rows.length > 0;

  $("#tm-table tbody").replaceChildren(...tms.taskmanagers.map((tm) => {
    const used = tm.slotsNumber - tm.freeSlots;
    const pct = tm.slotsNumber ? (100 * used) / tm.slotsNumber : 0;
    const bar = el("div", { class: "bar" }, el("div", { class: "bar-fill" }));
    bar.firstChild.style.width = pct.toFixed(1) + "%";
    const f = tm.flowsql;
    return el("tr", { class: "tm-row", "data-tm-id": tm.id },
      el("td", { class: "mono", text: tm.id }),
      el("td", { class: "mono", text: tm.dataPort ? `${f.host}:${tm.dataPort}` : f.host }),
      el("td", {}, badge(f.state)),
      el("td", { class: "slots" }, el("span", { class: "slots-text", text: `${used} / ${tm.slotsNumber}` }), bar),
      el("td", { class: "heartbeat", text: fmtDuration(f["heartbeat-age-ms"]) + " ago" }),
      el("td", { class: "rss", text: fmtBytes(f["rss-bytes"]) }),
      el("td", { text: f["cpu-seconds"] === null ? "–" : f["cpu-seconds"].toFixed(1) + " s" }));
  }));
}

// -- job view ------------------------------------------------------------------------------
function fitColumns(columns, available) {
  // Boxes shrink (down to MIN_W) so the whole graph fits the page; beyond that it scrolls.
  COL_GAP = columns > 4 ? 54 : 72;
  const w = (available - 2 * PAD - (columns - 1) * COL_GAP) / columns;
  BOX_W = Math.floor(Math.min(MAX_W, Math.max(MIN_W, w)));
}

function layout(ops, edges) {
  fitColumns(Math.max(...ops.map((o) => o.depth)) + 1, $("#job-graph").parentElement.clientWidth - 10);
  const cols = new Map();
  for (const op of ops) {
    if (!cols.has(op.depth)) cols.set(op.depth, []);
    cols.get(op.depth).push(op);
  }
  const height = Math.max(...[...cols.values()].map((c) => c.length));
  const pos = new Map();
  for (const [depth, col] of cols) {
    const offset = ((height - col.length) * (BOX_H + ROW_GAP)) / 2;
    col.forEach((op, i) => pos.set(op.id, {
      x: PAD + depth * (BOX_W + COL_GAP),
      y: PAD + offset + i * (BOX_H + ROW_GAP),
    }));
  }
  const depth = Math.max(...ops.map((o) => o.depth));
  return {
    pos,
    width: 2 * PAD + (depth + 1) * BOX_W + depth * COL_GAP,
    height: 2 * PAD + height * BOX_H + (height - 1) * ROW_GAP,
  };
}

function stat(label, ...values) {
  return el("div", { class: "op-row" }, el("span", { class: "op-label", text: label }),
    el("span", { class: "op-value" }, ...values));
}

function drawGraph(job) {
  const { operators: ops, edges } = job.flowsql;
  const graph = $("#job-graph");
  const { pos, width, height } = layout(ops, edges);
  graph.style.width = width + "px";
  graph.style.height = height + "px";
  const vertices = [...new Set(ops.map((o) => o.vertex))];

  const canvas = svg("svg", { id: "job-edges", width, height, class: "edges" });
  const defs = svg("defs");
  const marker = svg("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto",
  });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
  defs.append(marker);
  canvas.append(defs);
  for (const e of edges) {
    const a = pos.get(e.source), b = pos.get(e.target);
    const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2, x2 = b.x - 2, y2 = b.y + BOX_H / 2;
    const mx = (x1 + x2) / 2;
    canvas.append(svg("path", {
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
      class: "edge" + (e.chained ? " chained" : ""), "marker-end": "url(#arrow)",
      "data-source": e.source, "data-target": e.target,
    }));
    const label = svg("text", { x: mx, y: (y1 + y2) / 2 - 7, class: "edge-label", "text-anchor": "middle" });
    label.textContent = e.chained ? "chained"
      : e.partitioning === "hash" ? `hash[${e.keys.join(", ")}]` : e.partitioning;
    canvas.append(label);
  }

  const hasInput = new Set(edges.map((e) => e.target));
  const hasOutput = new Set(edges.map((e) => e.source));
  const boxes = ops.map((op) => {
    const p = pos.get(op.id);
    const box = el("div", { class: `operator vertex-${vertices.indexOf(op.vertex) % 6}`, "data-operator-id": op.id, "data-vertex": op.vertex },
      el("div", { class: "op-head" },
        // soft breaks between camel-case words: "LocalTumble|Window|Aggregate"
        el("span", { class: "op-name", text: op.name.replace(/([a-z)])([A-Z(])/g, "$1\u200b$2"), title: op.name }),
        el("span", { class: "op-par", text: `×${op.parallelism}`, title: "parallelism" })),
      el("div", { class: "op-sub", text: `${op.id} · ${op.vertex}` }),
      stat("In", el("span", { class: "records-in" }), el("span", { class: "rate rate-in" })),
      stat("Out", el("span", { class: "records-out" }), el("span", { class: "rate rate-out" })),
      stat("Watermark", el("span", { class: "watermark" }), el("span", { class: "watermark-lag" })),
      stat("Late", el("span", { class: "late-records" })),
      stat("Backpressure", el("span", { class: "backpressure" })));
    box.dataset.hasInput = hasInput.has(op.id) ? "1" : "";
    box.dataset.hasOutput = hasOutput.has(op.id) ? "1" : "";
    box.style.left = p.x + "px";
    box.style.top = p.y + "px";
    box.style.width = BOX_W + "px";
    box.style.height = BOX_H + "px";
    return box;
  });
  graph.replaceChildren(canvas, ...boxes);
}

function updateGraph(job) {
  for (const op of job.flowsql.operators) {
    const box = document.querySelector(`.operator[data-operator-id="${CSS.escape(op.id)}"]`);
    if (!box) continue;
    // A source receives and a sink emits no records downstream: "–" rather than a 0.
    const hasIn = box.dataset.hasInput === "1", hasOut = box.dataset.hasOutput === "1";
    $(".records-in", box).textContent = hasIn ? fmtInt(op["records-in"]) : "–";
    $(".records-out", box).textContent = hasOut || op["records-out"] ? fmtInt(op["records-out"]) : "–";
    $(".rate-in", box).textContent = hasIn ? fmtRate(op["records-in-per-second"]) : "";
    $(".rate-out", box).textContent = hasOut || op["records-out"] ? fmtRate(op["records-out-per-second"]) : "";
    const wm = op.watermark, wmEl = $(".watermark", box);
    wmEl.textContent = wm === null ? "n/a" : new Date(wm).toLocaleTimeString("en-GB", { hour12: false });
    wmEl.title = wm === null ? "no watermark measured" : new Date(wm).toISOString();
    wmEl.classList.toggle("unknown", wm === null);
    const lag = $(".watermark-lag", box);
    lag.textContent = op["watermark-lag-ms"] === null ? "" : "lag " + fmtDuration(op["watermark-lag-ms"]);
    lag.classList.toggle("warn", (op["watermark-lag-ms"] || 0) > 60000);
    const late = $(".late-records", box);
    // records a source skipped as malformed share the line, shown only when there are some
    const malformed = op["malformed-records"] || 0;
    late.textContent = fmtInt(op["late-records"]) + (malformed ? ` · ${fmtInt(malformed)} malformed` : "");
    late.classList.toggle("warn", op["late-records"] > 0 || malformed > 0);
    const bp = op.backpressure, bpEl = $(".backpressure", box);
    const share = bp.ratio !== null ? bp.ratio : bp["channel-fill"];
    bpEl.textContent = bp.level === null ? "n/a" : `${bp.level.toUpperCase()} ${Math.round(100 * share)}%`;
    bpEl.className = "backpressure bp-" + (bp.level || "none");
    box.classList.toggle("busy", bp.level === "high");
  }
}

function renderExceptions(exc) {
  const box = $("#exceptions");
  const entries = exc.exceptionHistory.entries;
  if (!entries.length) {
    box.replaceChildren(el("div", { class: "empty", text: "No exceptions." }));
    return;
  }
  box.replaceChildren(...entries.map((e) => el("div", { class: "exception" },
    el("div", { class: "exception-head" },
      el("span", { class: "exception-name", text: e.exceptionName }),
      el("span", { class: "muted", text: `${e.taskName || "job"} · ${fmtTime(e.timestamp)}` })),
    el("div", { class: "exception-message", text: exc.flowsql.message || "" }),
    el("details", {}, el("summary", { text: "Stack trace" }), el("pre", { class: "stacktrace", text: e.stacktrace })))));
}

function renderCheckpoints(cp) {
  const box = $("#checkpoints");
  if (!cp.history.length) {
    box.replaceChildren(el("div", { class: "empty", text: "Checkpointing is off, or no checkpoint yet." }));
    return;
  }
  const c = cp.counts;
  const head = el("div", { class: "muted", text:
    `${c.completed} completed · ${c.failed} failed · ${c.in_progress} in progress` +
    (cp.latest.restored ? ` · restored from ${cp.latest.restored.id} (${c.restored}x)` : "") });
  const rows = cp.history.map((h) => el("tr", { class: "checkpoint-row" },
    el("td", { text: String(h.id) }),
    el("td", {}, badge(h.status)),
    el("td", { text: fmtTime(h.trigger_timestamp) }),
    el("td", { text: fmtMillis(h.end_to_end_duration) }),
    el("td", { text: fmtBytes(h.state_size) }),
    el("td", { text: fmtMillis(h.alignment_duration || 0) }),
    el("td", { text: `${h.num_acknowledged_subtasks}/${h.num_subtasks}` }),
    el("td", { class: "muted", text: h.failure_message || "" })));
  const table = el("table", { class: "checkpoints" },
    el("thead", {}, el("tr", {}, ...["id", "status", "triggered", "duration", "size", "alignment",
      "acknowledged", ""].map((t) => el("th", { text: t })))),
    el("tbody", {}, ...rows));
  box.replaceChildren(head, table);
}

async function refreshJob(jid) {
  let job;
  try {
    job = await getJson(`/jobs/${encodeURIComponent(jid)}`);
  } catch (err) {
    show("not-found");
    $("#not-found-text").textContent = err.message;
    graphKey = null;
    return;
  }
  const exc = await getJson(`/jobs/${encodeURIComponent(jid)}/exceptions`);
  const cps = await getJson(`/jobs/${encodeURIComponent(jid)}/checkpoints`);
  show("job-view");
  $("#job-name").textContent = job.name;
  $("#job-state").replaceWith(Object.assign(badge(job.state), { id: "job-state" }));
  $("#job-meta").textContent =
    `${job.jid} · started ${fmtTime(job["start-time"])} · running for ${fmtDuration(job.duration)}` +
    (job["end-time"] > 0 ? ` · ended ${fmtTime(job["end-time"])}` : "") +
    ` · ${job.vertices.length} task chain(s), ${job.flowsql.operators.length} operators`;
  const reason = job.flowsql.reason;
  $("#job-reason").hidden = !reason;
  $("#job-reason").textContent = reason || "";
  const cancel = $("#cancel-job");
  cancel.dataset.jobId = job.jid;
  cancel.disabled = ["FINISHED", "FAILED", "CANCELED", "CANCELLING", "FAILING"].includes(job.state);

  const key = job.jid + "|" + job.flowsql.operators.map((o) => o.id).join(",");
  if (key !== graphKey) {
    drawGraph(job);
    graphKey = key;
  }
  updateGraph(job);
  renderCheckpoints(cps);
  renderExceptions(exc);
}

async function cancelJob() {
  const jid = $("#cancel-job").dataset.jobId;
  if (!jid || !window.confirm(`Cancel job ${jid}?`)) return;
  const r = await fetch(`/jobs/${encodeURIComponent(jid)}?mode=cancel`, { method: "PATCH" });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    setStatus(false, (body.errors || ["cancel failed"]).join("; "));
  }
  tick();
}

// -- the poll loop -------------------------------------------------------------------------
async function tick() {
  clearTimeout(timer);
  const r = route();
  try {
    if (r.view === "job") await refreshJob(r.jid);
    else { graphKey = null; await refreshOverview(); }
    setStatus(true, "updated " + new Date().toLocaleTimeString("en-GB", { hour12: false }));
  } catch (err) {
    setStatus(false, "disconnected: " + err.message);
  }
  timer = setTimeout(tick, refreshMs);
}

async function start() {
  try {
    const config = await getJson("/config");
    refreshMs = Math.max(250, config["refresh-interval"] || 1000);
  } catch (err) { /* keep the default */ }
  $("#cancel-job").addEventListener("click", cancelJob);
  window.addEventListener("hashchange", tick);
  window.addEventListener("resize", () => { graphKey = null; tick(); });
  tick();
}

start();
