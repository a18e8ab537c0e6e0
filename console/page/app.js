// autopost console: reads the JSON API every few seconds and draws it.
// No framework and nothing from another origin (the server's CSP forbids it):
// DOM building by hand, the chart as an inline SVG.
"use strict";

const REFRESH_MS = 5000;
let token = sessionStorage.getItem("autopost-token") || "";
let readOnly = true;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// The token (if one was entered) goes with every request: a console with
// console.read_token_file wants it for reads too.
async function api(path, options) {
  const opts = Object.assign({}, options || {});
  if (token) opts.headers = Object.assign({ Authorization: "Bearer " + token }, opts.headers || {});
  const r = await fetch(path, opts);
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (r.status === 401) $("token-form").hidden = false;
  if (!r.ok) throw new Error((body && body.error) || ("HTTP " + r.status));
  return body;
}

function showError(msg) {
  $("error").textContent = msg || "";
  $("error").hidden = !msg;
}

function age(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
}

function shortTime(t) { return t ? t.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–"; }

// Ids may be time-ordered (same leading digits): show the distinct tail.
function scheduleLink(id, full) {
  const a = el("a", { href: "#schedule=" + id, class: "sid" },
               el("code", { text: full ? id : "…" + id.slice(-12) }));
  a.title = id;
  return a;
}

function fillBody(table, rows) {
  const tb = $(table).querySelector("tbody");
  tb.replaceChildren(...rows);
}

function numCell(v) { return el("td", { class: "num", text: v === null || v === undefined ? "–" : v }); }

// ---- overview ---------------------------------------------------------------

function drawOverview(o) {
  for (const k of ["due_now", "pending", "queued", "retrying", "published", "failed",
                   "unconfirmed", "cancelled", "total", "published_1m", "failed_1m"])
    $("count-" + k).textContent = o[k];
  $("updated").textContent = "as of " + shortTime(o.at);
  readOnly = o.read_only;
  $("mode").textContent = readOnly ? "read-only" : (token ? "token set" : "token required to act");
  $("mode").className = readOnly ? "badge" : "badge rw";
  $("token-form").hidden = readOnly;
  // "in flight" and "lag" come from NATS; without it they show "–".
  $("bus").textContent = o.nats === null ? "" : o.nats.connected
    ? "NATS connected" + (o.dispatcher ? ", dispatcher lag " +
                          (o.dispatcher.pending + o.dispatcher.ack_pending) : "")
    : "NATS unreachable: lag unknown";
}

function drawPlatforms(rows) {
  fillBody("platforms", rows.map((p) => el("tr", { "data-platform": p.platform },
    el("td", { text: p.platform }), numCell(p.due_now), numCell(p.pending), numCell(p.queued),
    numCell(p.in_flight), numCell(p.lag), numCell(p.retrying), numCell(p.published), numCell(p.failed), numCell(p.unconfirmed),
    numCell(p.cancelled), numCell(age(p.oldest_waiting_ms)), numCell(p.published_1m),
    numCell(p.failed_1m))));
}

function drawFailed(rows) {
  $("failed-none").hidden = rows.length > 0;
  fillBody("failed", rows.map((g) => {
    const ids = JSON.parse(g.example_ids || "[]");
    const ex = el("td");
    ids.forEach((id, i) => { if (i) ex.append(" "); ex.append(scheduleLink(id)); });
    const reason = "[" + (g.error_class || "-") + "] " + (g.error_code || "-") + ": " +
                   (g.error_message || "-");
    return el("tr", {}, numCell(g.count), el("td", { text: g.platform }),
      el("td", { class: "status-" + g.status, text: g.status }), el("td", { text: reason }),
      el("td", { text: shortTime(g.latest) }), ex);
  }));
}

function drawWebhooksFailing(rows) {
  $("webhooks-failing-none").hidden = rows.length > 0;
  fillBody("webhooks-failing", rows.map((w) => el("tr", { class: "status-failed", "data-webhook": w.id },
    el("td", { text: w.id }), el("td", { text: w.tenant_id }), el("td", { text: w.url }),
    el("td", { text: shortTime(w.failing_since) }))));
}

function drawRecent(rows) {
  fillBody("recent", rows.map((s) => el("tr", {},
    el("td", {}, scheduleLink(s.id, true)), el("td", { text: s.platform }),
    el("td", { class: "status-" + s.status, text: s.status }), numCell(s.attempts),
    el("td", { text: shortTime(s.scheduled_at) }), el("td", { text: shortTime(s.updated_at) }))));
}

// ---- chart --------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

// Bars: published (green) and failed (red) per bucket, left axis.
// Lines: lateness p50 and p95 in seconds, right axis.
function drawSeries(points) {
  const W = 900, H = 240, L = 44, R = 54, T = 12, B = 26;
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "chart-svg" });
  const n = Math.max(points.length, 1);
  const maxCount = Math.max(1, ...points.map((p) => p.published + p.failed));
  const maxLate = Math.max(1, ...points.map((p) => p.late_p95_ms || 0));
  const x = (i) => L + (W - L - R) * i / n;
  const bw = Math.max(1, (W - L - R) / n - 2);
  const yc = (v) => H - B - (H - T - B) * v / maxCount;
  const yl = (v) => H - B - (H - T - B) * v / maxLate;
  box.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#d9dde3" }));
  for (const f of [0, 0.5, 1]) {
    const t1 = svg("text", { x: L - 4, y: yc(maxCount * f) + 3, "text-anchor": "end" });
    t1.textContent = Math.round(maxCount * f);
    const t2 = svg("text", { x: W - R + 4, y: yl(maxLate * f) + 3 });
    t2.textContent = (maxLate * f / 1000).toFixed(1) + "s";
    box.append(t1, t2);
  }
  points.forEach((p, i) => {
    const yp = yc(p.published), yf = yc(p.published + p.failed);
    box.append(svg("rect", { x: x(i) + 1, y: yp, width: bw, height: H - B - yp, fill: "#1f8a4c",
                             class: "bar-published", "data-count": p.published }));
    if (p.failed)
      box.append(svg("rect", { x: x(i) + 1, y: yf, width: bw, height: yp - yf, fill: "#c2362b",
                               class: "bar-failed", "data-count": p.failed }));
  });
  for (const [key, color] of [["late_p50_ms", "#2f6fdb"], ["late_p95_ms", "#8a4fd1"]]) {
    const pts = points.map((p, i) => p[key] === null ? null : `${x(i) + bw / 2 + 1},${yl(p[key])}`)
                      .filter((s) => s !== null);
    if (pts.length > 1)
      box.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color,
                                   "stroke-width": 2 }));
    for (const pt of pts) {
      const [cx, cy] = pt.split(",");
      box.append(svg("circle", { cx, cy, r: 3, fill: color, class: "dot-" + key }));
    }
  }
  if (points.length) {
    const a = svg("text", { x: L, y: H - 8 });
    a.textContent = shortTime(points[0].t);
    const b = svg("text", { x: W - R, y: H - 8, "text-anchor": "end" });
    b.textContent = shortTime(points[points.length - 1].t);
    box.append(a, b);
    const step = points[0].step_ms;
    $("series-note").textContent = "buckets of " + (step >= 1000 ? (step / 1000).toFixed(1) + " s"
                                                                 : step + " ms");
  } else {
    const t = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" });
    t.textContent = "nothing published or failed in the last hour";
    box.append(t);
  }
  $("chart").replaceChildren(box);
}

// ---- one schedule ---------------------------------------------------------------

let currentId = null;

async function showSchedule(id) {
  currentId = id;
  $("lookup-id").value = id;
  $("action-result").textContent = "";
  try {
    const s = await api("/api/schedules/" + encodeURIComponent(id));
    const dl = $("schedule-fields");
    dl.replaceChildren();
    const add = (k, v) => dl.append(el("dt", { text: k }), el("dd", { text: v === null ? "–" : v }));
    add("id", s.id);
    add("status", s.status);
    dl.lastChild.className = "status-" + s.status;
    add("platform / account", s.platform + " " + s.account_external_id + " (" + s.account_name + ")");
    add("scheduled at", shortTime(s.scheduled_at));
    add("queued at", shortTime(s.queued_at));
    add("published at", shortTime(s.published_at));
    add("generation / attempts", s.generation + " / " + s.attempts);
    if (s.error_class || s.error_message)
      add("reason", "[" + (s.error_class || "-") + "] " + (s.error_code || "-") + ": " +
                    (s.error_message || "-"));
    add("external post", (s.external_post_id || "–") + (s.external_url ? " " + s.external_url : ""));
    add("text", s.text);
    fillBody("history", s.history.map((h) => el("tr", { class: "event-" + h.event },
      el("td", { text: shortTime(h.recorded_at) }), numCell(h.generation), numCell(h.attempt),
      el("td", { text: h.event }), el("td", { text: h.actor || "–" }), numCell(h.http_status),
      el("td", { text: h.error_class || h.error_message
                         ? "[" + (h.error_class || "-") + "] " + (h.error_code || "-") + ": " +
                           (h.error_message || "-") : "" }),
      el("td", { text: h.external_post_id || "" }))));
    const canAct = !readOnly;
    $("retry").hidden = !(canAct && ["failed", "unconfirmed", "cancelled"].includes(s.status));
    $("cancel").hidden = !(canAct && s.status === "pending");
    $("schedule").hidden = false;
  } catch (e) {
    $("schedule").hidden = true;
    showError("schedule " + id + ": " + e.message);
  }
}

async function act(action) {
  if (!currentId) return;
  if (action === "retry" && !confirm("Send this schedule again? An unconfirmed post may already be live."))
    return;
  try {
    await api("/api/schedules/" + currentId + "/" + action,
              { method: "POST", headers: { Authorization: "Bearer " + token } });
    $("action-result").textContent = action + " done";
    await refresh();
    await showSchedule(currentId);
  } catch (e) {
    $("action-result").textContent = action + " refused: " + e.message;
  }
}

// ---- refresh loop --------------------------------------------------------------

async function refresh() {
  try {
    const [o, p, f, s, r, w] = await Promise.all([api("/api/overview"), api("/api/platforms"),
      api("/api/failed?limit=20"), api("/api/series?minutes=60"), api("/api/schedules?limit=15"),
      api("/api/webhooks/failing")]);
    drawOverview(o);
    drawPlatforms(p);
    drawFailed(f);
    drawSeries(s);
    drawRecent(r);
    drawWebhooksFailing(w);
    showError("");
    document.body.dataset.loaded = "1";
  } catch (e) {
    showError("cannot load: " + e.message);
  }
}

// "#schedule=ID" is a page of its own: the schedule and its history only.
function fromHash() {
  const m = location.hash.match(/schedule=([0-9a-fA-F-]{36})/);
  document.body.dataset.view = m ? "schedule" : "overview";
  if (m) showSchedule(m[1]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("autopost-token", token);
    $("token").value = "";
    refresh();
  });
  $("lookup").addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = "schedule=" + $("lookup-id").value.trim();
  });
  $("retry").addEventListener("click", () => act("retry"));
  $("cancel").addEventListener("click", () => act("cancel"));
  window.addEventListener("hashchange", fromHash);
  refresh().then(fromHash);
  setInterval(refresh, REFRESH_MS);
});
