// The live board: a snapshot over the websocket, then updates; the highest revision per incident wins.
"use strict";

const state = { rows: new Map(), offset: 0, seenSnapshot: false, silences: [], figures: null, retry: 0, silenceTimer: 0,
  connection: "connecting", health: null };
const HEALTH_POLL_MS = 5000;
const me = document.querySelector('meta[name="tw-user"]').content;
const canAct = ["supervisor", "admin"].includes(document.querySelector('meta[name="tw-role"]').content);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const FILTERS = ["kind", "severity", "city", "status", "owner"];
// The supervisor actions as the server declares them (monitor/supervision.py BOARD_ACTIONS).
const ACTIONS = canAct ? JSON.parse(document.getElementById("tw-actions").textContent) : {};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
  }
  for (const child of children) node.append(child ?? "");  // strings become text nodes, never HTML
  return node;
}

const KIND_LABELS = { pickup_delay: "Pickup delay", trip_delay: "Trip delay", driver_cancellation: "Driver cancelled",
  system_cancellation: "Cancelled by the system", route_deviation: "Off route", payment_failure: "Payment failed",
  double_charge: "Charged twice", sos: "SOS", crash_suspected: "Crash suspected", long_stop: "Long stop",
  passenger_reported_safety: "Passenger reported (safety)",
  signal_lost: "Signal lost", early_end: "Trip ended early" };
function kindLabel(kind) { return KIND_LABELS[kind] || String(kind || "").replaceAll("_", " "); }

function now() { return Date.now() + state.offset; }

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(r).padStart(2, "0")}`;
}

// --- live connection --------------------------------------------------------------------
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  setConnection("connecting");
  ws.onmessage = (event) => receive(JSON.parse(event.data));
  ws.onclose = (event) => {
    if (event.code === 4001) { location.assign("/login"); return; }  // signed out, removed or re-roled
    setConnection("reconnecting");
    checkHealth();  // say why, if the server knows
    const delay = Math.min(5000, 300 * 2 ** state.retry++);
    setTimeout(connect, delay);
  };
  window.twSocket = ws;
}

function setConnection(what) {
  const node = document.getElementById("connection");
  node.dataset.state = what;
  node.textContent = what === "live" ? "live" : `${what}…`;
  state.connection = what;
  renderHealth();
}

// --- health: the socket's state and the server's /healthz, in one banner ------------------
async function checkHealth() {
  try {
    const response = await fetch("/healthz", { credentials: "same-origin", cache: "no-store" });
    state.health = await response.json();  // 503 carries a JSON body that says what is down
  } catch (error) {
    state.health = { status: "down", message: "Tripwatch cannot be reached; retrying" };
  }
  renderHealth();
}

function healthText() {
  const health = state.health && state.health.status !== "ok" ? state.health : null;
  const reason = health ? health.message || health.error || health.status : "";
  if (state.connection === "reconnecting") return [`Disconnected — reconnecting…${reason ? ` (${reason})` : ""}`, "down"];
  return health ? [reason, health.status] : ["", "ok"];
}

function renderHealth() {
  const [text, status] = healthText();
  const node = document.getElementById("health");
  node.hidden = !text;
  node.textContent = text;
  node.dataset.state = status;
}

function receive(message) {
  if (message.type === "snapshot") return applySnapshot(message);
  if (message.type === "incident") { applyRow(message.row, true); render(); return renderFigures(); }
  if (message.type === "silences") return applySilences(message);
}

// Which incidents a silence holds is decided on the server, by the rule outreach obeys
// (rules/silences.py); the browser only shows it, and asks again when a window opens or closes.
function applySilences(message) {
  state.silences = message.silences;
  for (const row of state.rows.values()) row.silenced_by = message.silenced[row.incident_id] || null;
  scheduleSilenceRefresh(message.next_change);
  renderSilences(); render();
}

function scheduleSilenceRefresh(nextChange) {
  clearTimeout(state.silenceTimer);
  if (!nextChange) return;
  const delay = Math.min(3600000, Math.max(0, nextChange - now()) + 250);
  state.silenceTimer = setTimeout(async () => {
    const response = await fetch("/api/silences", { credentials: "same-origin" });
    if (response.ok) applySilences(await response.json());
  }, delay);
}

function applySnapshot(message) {
  state.offset = message.now - Date.now();
  const fresh = new Map(message.rows.map((row) => [row.incident_id, row]));
  for (const [id, row] of state.rows) {  // keep what we saw newer than the snapshot
    const incoming = fresh.get(id);
    if (incoming && incoming.revision < row.revision) fresh.set(id, row);
  }
  const firstTime = !state.seenSnapshot;
  for (const row of fresh.values()) {
    if (!firstTime) alarmIfTurnedCritical(state.rows.get(row.incident_id), row);
  }
  state.rows = fresh;
  renderAlarms();
  state.seenSnapshot = true;
  state.figures = message.figures;
  state.silences = message.silences;
  scheduleSilenceRefresh(message.next_change);
  state.retry = 0;
  setConnection("live");
  render(); renderFigures(); renderSilences(); renderChoices();
}

function applyRow(row, live) {
  const known = state.rows.get(row.incident_id);
  if (known && known.revision >= row.revision) return;  // a repeat or an older change
  if (live) alarmIfTurnedCritical(known, row);
  state.rows.set(row.incident_id, row);
  renderAlarms();
}

// --- alarms: every turn into critical raises one; it stands until acknowledged or resolved --
const alarms = new Map();  // incident_id -> when the alarm was raised (page clock)
const TONE_REPEAT_MS = 30000;
let audio = null, toneTimer = 0;

function turnedCritical(before, row) {
  if (row.severity !== "critical" || row.status !== "open") return false;
  return !before || before.severity !== "critical" || before.status !== "open";
}

function alarmIfTurnedCritical(before, row) {
  if (!turnedCritical(before, row) || alarms.has(row.incident_id)) return;
  alarms.set(row.incident_id, now());
  beep();
}

function standing(id) {
  const row = state.rows.get(id);
  return row && row.severity === "critical" && row.status === "open";
}

function renderAlarms() {
  for (const id of [...alarms.keys()]) if (!standing(id)) alarms.delete(id);
  const box = document.getElementById("alarms");
  box.hidden = alarms.size === 0;
  box.replaceChildren(...[...alarms.keys()].map((id) => alarmNode(state.rows.get(id))));
  const title = document.title.replace(/^\(!\) /, "");
  document.title = alarms.size ? `(!) ${title}` : title;
  clearInterval(toneTimer);
  if (alarms.size) toneTimer = setInterval(beep, TONE_REPEAT_MS);  // until someone acknowledges
}

function alarmNode(row) {
  const node = el("div", { class: "alarm", role: "alert", "data-incident-id": row.incident_id },
    el("b", {}, "Critical: "), `${kindLabel(row.kind)} on order `,
    el("a", { href: `/trips/${encodeURIComponent(row.order_id)}` }, row.order_id),
    row.city ? ` in ${row.city}` : "", row.summary ? ` — ${row.summary}` : "");
  if (canAct) {
    const ack = el("button", { type: "button", class: "act act-acknowledge" }, "Acknowledge");
    ack.onclick = () => act(row, "acknowledge");
    node.append(" ", ack);
  }
  return node;
}

// Browsers start audio suspended until the person interacts with the page: ask once.
function initSound() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  audio = new Context();
  const prompt = document.getElementById("enable-sound");
  const update = () => { prompt.hidden = audio.state === "running"; };
  prompt.onclick = () => audio.resume().then(update);
  document.addEventListener("click", () => { if (audio.state !== "running") audio.resume().then(update); });
  audio.onstatechange = update;
  update();
}

function beep() {
  window.twBeeps = (window.twBeeps || 0) + 1;
  if (!audio) return;  // no audio at all: the banner and title remain
  const tone = audio.createOscillator();
  tone.frequency.value = 880;
  tone.connect(audio.destination);
  tone.start(); tone.stop(audio.currentTime + 0.4);
}

// --- filters (kept in the URL) ---------------------------------------------------------
function filters() {
  const params = new URLSearchParams(location.search);
  return Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || ""]));
}

const RECENT_MS = 120000;  // a row just resolved stays on the active board this long, to reopen it there
function recentlyResolved(row) { return row.status === "resolved" && now() - (row.resolved_at || 0) < RECENT_MS; }

function matches(row, f) {
  const status = f.status || "active";
  if (status === "active" && row.status === "resolved" && !recentlyResolved(row)) return false;
  if (!["active", "all"].includes(status) && row.status !== status) return false;
  if (f.kind && row.kind !== f.kind) return false;
  if (f.severity && row.severity !== f.severity) return false;
  if (f.city && (row.city || "") !== f.city) return false;
  if (f.owner && (row.owner || "") !== (f.owner === "me" ? me : f.owner)) return false;
  return true;
}

function initFilters() {
  const form = document.getElementById("filters");
  const current = filters();
  for (const f of FILTERS) form.elements[f].value = current[f] || (f === "status" ? "active" : "");
  const update = () => {
    const params = new URLSearchParams();
    for (const f of FILTERS) {
      const value = form.elements[f].value.trim();
      if (value && !(f === "status" && value === "active")) params.set(f, value);
    }
    history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
    render();
  };
  form.addEventListener("input", update);
  form.addEventListener("reset", () => setTimeout(update));
  form.addEventListener("submit", (e) => { e.preventDefault(); update(); });
}

// --- rendering -------------------------------------------------------------------------
function order(a, b) {
  const key = (r) => [r.status === "resolved", !r.safety, r.status !== "open", r.ack_deadline];
  const ka = key(a), kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

// Rows are kept per incident id and replaced only when their incident changed, so nothing jumps
// under the pointer and a click never lands on a button that was just rebuilt.
const rowNodes = new Map();  // incident_id -> { key, node }
const groupBodies = new Map();  // parent incident_id -> tbody
const selected = new Set();  // incident ids ticked for a bulk action
const openGroups = new Set();

function render() {
  const table = document.getElementById("incidents");
  const f = filters();
  const visible = [...state.rows.values()].filter((r) => matches(r, f)).sort(order);
  const ids = new Set(visible.map((r) => r.incident_id));
  const children = new Map();
  for (const r of visible) {
    if (r.subordinate_to && ids.has(r.subordinate_to)) {
      if (!children.has(r.subordinate_to)) children.set(r.subordinate_to, []);
      children.get(r.subordinate_to).push(r);
    }
  }
  const bodies = [];
  for (const r of visible) {
    if (r.subordinate_to && ids.has(r.subordinate_to)) continue;
    const subs = children.get(r.incident_id) || [];
    const rows = [rowFor(r, subs.length), ...subs.map((s) => rowFor(s, 0, true))];
    const body = groupBodies.get(r.incident_id) || el("tbody", { class: "group" });
    groupBodies.set(r.incident_id, body);
    placeChildren(body, rows);
    bodies.push(body);
  }
  for (const [id, body] of groupBodies) if (!bodies.includes(body)) { body.remove(); groupBodies.delete(id); }
  for (const id of [...rowNodes.keys()]) if (!ids.has(id)) rowNodes.delete(id);
  for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
  placeChildren(table, [table.tHead, ...bodies]);
  document.getElementById("empty").hidden = visible.length > 0;
  renderBulk();
  tick();
}

function placeChildren(parent, nodes) {  // move only what is out of place
  nodes.forEach((node, i) => { if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null); });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

function rowFor(r, subordinates, folded = false) {
  const key = [r.revision, r.silenced_by, subordinates, folded && openGroups.has(r.subordinate_to),
    r.last_message ? r.last_message.status : "", recentlyResolved(r)].join("|");
  const known = rowNodes.get(r.incident_id);
  if (known && known.key === key) return known.node;
  const node = rowNode(r, subordinates, folded);
  if (known) known.node.replaceWith(node);
  rowNodes.set(r.incident_id, { key, node });
  return node;
}

function rowNode(r, subordinates, folded = false) {
  const tr = el("tr", { class: `incident status-${r.status}${r.safety ? " safety" : ""}${folded ? " subordinate" : ""}`,
    "data-incident-id": r.incident_id, "data-revision": String(r.revision) });
  if (r.silenced_by) { tr.classList.add("silenced"); tr.dataset.silencedBy = r.silenced_by; }
  if (folded) tr.hidden = !openGroups.has(r.subordinate_to);
  const kind = el("td", { class: "kind", title: r.kind }, kindLabel(r.kind));
  if (subordinates) {
    const toggle = el("button", { class: "fold", type: "button" }, `+${subordinates} related`);
    toggle.onclick = () => { openGroups.has(r.incident_id) ? openGroups.delete(r.incident_id) : openGroups.add(r.incident_id); render(); };
    kind.prepend(toggle, " ");  // first: a long label must not hide it
  }
  if (r.silenced_by) kind.append(" ", silencedMark(r.silenced_by));
  const msg = r.last_message ? `${r.last_message.channel || ""} ${r.last_message.status || ""}` : "—";
  const note = r.note ? `${r.note} — ${r.note_by}` : "";
  const pick = el("input", { type: "checkbox", class: "pick", title: "select for a bulk action", checked: selected.has(r.incident_id) });
  pick.onchange = () => { pick.checked ? selected.add(r.incident_id) : selected.delete(r.incident_id); renderBulk(); };
  tr.append(
    el("td", { class: "select" }, canAct && r.status !== "resolved" ? pick : ""),
    kind,
    el("td", {}, el("span", { class: `sev sev-${r.severity}` }, r.severity)),
    el("td", { class: "order" }, el("a", { href: `/trips/${encodeURIComponent(r.order_id)}`, title: r.order_id }, r.order_id)),
    el("td", { class: "city" }, r.city || ""),
    el("td", { class: "summary", title: r.summary || "" },
      el("a", { href: `/incidents/${encodeURIComponent(r.incident_id)}` }, r.summary || "details")),
    el("td", { class: "age", "data-since": String(r.opened_at || r.detected_at) }),
    el("td", { class: "countdown", "data-deadline": String(r.ack_deadline) }, statusText(r)),
    el("td", { class: "owner", title: r.owner || "" }, r.owner || ""),
    el("td", { class: "last-message" }, msg),
    el("td", { class: "note", title: note }, note),
    el("td", { class: "actions" }, ...(canAct ? actionButtons(r) : [])),
  );
  tr.dataset.status = r.status;
  return tr;
}

function renderBulk() {
  const bar = document.getElementById("bulk");
  if (!bar) return;
  bar.hidden = selected.size === 0;
  document.getElementById("bulk-count").textContent = String(selected.size);
}

async function bulkAcknowledge() {
  const ids = [...selected].filter((id) => (state.rows.get(id) || {}).status === "open");
  const results = await Promise.all(ids.map((id) => post(`/api/incidents/${encodeURIComponent(id)}/acknowledge`, {})));
  const refused = results.filter((r) => !r.ok).length;
  selected.clear();
  render();
  if (refused) flash(`${refused} of ${ids.length} acknowledgements refused`);
}

function silencedMark(silenceId) {
  const silence = state.silences.find((s) => s.silence_id === silenceId);
  return el("span", { class: "silenced-mark", title: silence ? `outreach held: ${silence.text}` : "outreach held" },
    "silenced");
}

function statusText(r) {
  if (r.status === "acknowledged") return `acknowledged by ${r.acked_by || "?"}`;
  if (r.status === "resolved") return `resolved${r.resolution ? ": " + r.resolution : ""}`;
  return "";
}

function actionButtons(r) {
  // the server's rule (supervision.offered): on these statuses, and some not on one's own incident
  const offered = Object.entries(ACTIONS).filter(([, a]) => a.statuses.includes(r.status) && !(a.others_only && r.owner === me));
  return offered.map(([name, a]) => {
    const b = el("button", { type: "button", class: `act act-${name}` }, a.short);
    b.onclick = () => act(r, name);
    return b;
  });
}

async function act(r, name) {
  let text = "";
  const action = ACTIONS[name];
  if (action.asks) {
    text = prompt(action.names_user ? `${action.asks} (${(await assignees()).join(", ")})` : action.asks) || "";
    if (!text.trim()) return;
  }
  const response = await post(`/api/incidents/${encodeURIComponent(r.incident_id)}/${name}`, { text });
  if (!response.ok) flash(`${name} refused: ${await response.text()}`);
}

async function assignees() {
  if (!assignees.names) {
    const response = await fetch("/api/users", { credentials: "same-origin" });
    assignees.names = response.ok ? await response.json() : [];
  }
  return assignees.names;
}

function post(url, body, method = "POST") {
  return fetch(url, { method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
}

function flash(text) {
  const box = document.getElementById("flash");
  box.hidden = false; box.textContent = text;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

function tick() {
  const t = now();
  for (const cell of document.querySelectorAll("td.age")) cell.textContent = fmtDuration(t - Number(cell.dataset.since));
  for (const cell of document.querySelectorAll("tr.status-open td.countdown")) {
    const left = Number(cell.dataset.deadline) - t;
    cell.textContent = left >= 0 ? fmtDuration(left) : `overdue ${fmtDuration(-left)}`;
    cell.classList.toggle("overdue", left < 0);
  }
}

function renderFigures() {
  const f = state.figures; if (!f) return;
  const box = document.getElementById("figures");
  const show = (v, unit = "") => (v === null || v === undefined ? "—" : `${v}${unit}`);
  const open = [...state.rows.values()].filter((r) => r.status !== "resolved");  // live, not as of the snapshot
  const byKind = {};
  for (const r of open) byKind[r.kind] = (byKind[r.kind] || 0) + 1;
  const kinds = Object.keys(byKind).sort().map((k) => `${k} ${byKind[k]}`).join(", ") || "none";
  box.replaceChildren(
    el("div", { class: "figure", id: "open-total" }, el("b", {}, String(open.length)), ` open (${kinds})`),
    el("div", { class: "figure" }, "mean time to acknowledge ", el("b", {}, show(f.mean_ack_s, " s"))),
    el("div", { class: "figure" }, "mean time to resolve ", el("b", {}, show(f.mean_resolve_s, " s"))),
    el("div", { class: "figure" }, "reached ",
      el("b", {}, f.contacted_first_share === null ? "—" : `${Math.round(f.contacted_first_share * 100)} %`)),
    toldFirstFigure(f.told_first),
    el("div", { class: "figure" }, "messages sent ", el("b", {}, show(f.messages_sent)), " failed ",
      el("b", {}, show(f.messages_failed))),
  );
}

// Did they hear from us before they contacted support (docs/board.md "Before they asked").
function toldFirstFigure(t) {
  const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)} %`);
  const secs = (v) => (v === null || v === undefined ? "—" : `${v} s`);
  if (!t) return el("div", { class: "figure", id: "told-first" }, "told first ", el("b", {}, "—"));
  const o = t.overall;
  return el("div", { class: "figure", id: "told-first" },
    el("a", { href: "/contacts" }, "told first"), " ", el("b", { id: "told-first-share" }, pct(o.told_first_share)),
    ` of ${o.incidents_contacted} contacted · lead p50 `, el("b", {}, secs(o.lead_p50_s)),
    " p90 ", el("b", {}, secs(o.lead_p90_s)),
    " · contacts/incident ", el("b", {}, o.contact_rate === null ? "—" : String(o.contact_rate)),
    " · ", el("a", { href: "/contacts#unmatched", id: "unmatched-contacts" }, `${t.unmatched.total} unmatched`));
}

function renderSilences() {
  const box = document.getElementById("silences");
  const items = state.silences.map((s) => {
    const li = el("li", { class: `silence${s.active ? " active" : ""}`, "data-silence-id": s.silence_id },
      `${s.text} `, el("em", {}, s.active ? "holding now" : "waiting for its window"), " ");
    if (canAct) {
      const edit = el("button", { type: "button", class: "silence-edit" }, "Edit");
      edit.onclick = () => editSilence(s);
      const end = el("button", { type: "button", class: "silence-expire" }, "Expire now");
      end.onclick = () => post(`/api/silences/${encodeURIComponent(s.silence_id)}`, {}, "DELETE");
      li.append(edit, " ", end);
    }
    return li;
  });
  document.getElementById("silence-count").textContent = String(items.length);
  box.replaceChildren(el("strong", {}, `Silences in force: ${items.length}`), el("ul", {}, ...items));
}

async function refreshFigures() {
  const response = await fetch("/api/board", { credentials: "same-origin" });
  if (response.ok) { state.figures = (await response.json()).figures; renderFigures(); }
}

function initSilenceForm() {
  const form = document.getElementById("silence-form");
  if (!form) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) form.elements.timezone.value = zone;
  const error = document.getElementById("silence-error");
  let previewTimer = 0;
  form.addEventListener("input", () => { clearTimeout(previewTimer); previewTimer = setTimeout(previewSilence, 250); });
  document.getElementById("silence-cancel-edit").onclick = () => stopEditing(form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const editing = form.dataset.editing;
    const url = editing ? `/api/silences/${encodeURIComponent(editing)}` : "/api/silences";
    const response = await post(url, silenceBody(new FormData(form)), editing ? "PUT" : "POST");
    error.textContent = response.ok ? "" : `not silenced: ${await response.text()}`;
    form.classList.toggle("refused", !response.ok);
    if (response.ok) stopEditing(form);
  });
}

async function previewSilence() {
  const form = document.getElementById("silence-form");
  const response = await post("/api/silences/preview", silenceBody(new FormData(form)));
  if (!response.ok) return;
  const shown = await response.json();
  const out = document.getElementById("silence-preview");
  const safety = shown.covers_safety || /confirm_safety|admins only/.test(shown.problem || "");
  document.getElementById("confirm-safety-label").hidden = !safety;
  form.classList.toggle("covers-safety", safety);
  if (shown.problem) { out.textContent = `cannot be made: ${shown.problem}`; out.dataset.state = "problem"; return; }
  document.getElementById("silence-error").textContent = "";
  const names = shown.incidents.slice(0, 5).map((i) => `${kindLabel(i.kind)} ${i.order_id}`).join(", ");
  out.dataset.state = shown.covers_safety ? "safety" : "ok";
  out.textContent = `${shown.text} — would hold ${shown.holds_now} open incident(s) now` +
    (shown.matches !== shown.holds_now ? ` (${shown.matches} match outside its window)` : "") +
    (names ? `: ${names}${shown.matches > 5 ? ", …" : ""}` : "") +
    (shown.covers_safety ? " — includes safety kinds (SOS, crash, …)" : "");
}

function localInput(ms) {
  const d = new Date(ms);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());  // datetime-local wants the browser's time
  return d.toISOString().slice(0, 16);
}

function editSilence(s) {
  const form = document.getElementById("silence-form");
  const any = (v) => (v === "*" ? "" : v);
  const [from, to] = s.daily ? s.daily.split("-") : ["", ""];
  const values = { kind: any(s.kind), city: any(s.city), rule_id: any(s.rule_id), reason: s.reason, timezone: s.timezone,
    daily_from: from, daily_to: to, minutes: "", ends: localInput(s.until_ms), starts: s.starts_ms > now() ? localInput(s.starts_ms) : "" };
  for (const [name, value] of Object.entries(values)) form.elements[name].value = value;
  form.dataset.editing = s.silence_id;
  document.getElementById("silence-form-title").textContent = "Edit silence";
  document.getElementById("silence-submit").textContent = "Save";
  document.getElementById("silence-cancel-edit").hidden = false;
  document.getElementById("silence-panel").open = true;
  previewSilence();
}

function stopEditing(form) {
  delete form.dataset.editing;
  document.getElementById("silence-form-title").textContent = "New silence";
  document.getElementById("silence-submit").textContent = "Silence";
  document.getElementById("silence-cancel-edit").hidden = true;
}

function renderChoices() {  // the cities and rules the board knows, for the silence form
  const fill = (id, values) => document.getElementById(id).replaceChildren(
    ...[...new Set(values)].filter(Boolean).sort().map((v) => el("option", { value: v })));
  const rows = [...state.rows.values()];
  fill("cities", rows.map((r) => r.city));
  fill("rule-ids", rows.map((r) => r.rule_id));
}

function silenceBody(data) {
  const v = (name) => String(data.get(name) || "").trim();
  const localMs = (value) => new Date(value).getTime();  // datetime-local: the browser's own time
  const body = { kind: v("kind"), city: v("city"), rule_id: v("rule_id"), timezone: v("timezone"), reason: v("reason"),
    confirm_safety: data.get("confirm_safety") === "on" };
  if (v("starts")) body.starts_ms = localMs(v("starts"));
  if (v("ends")) body.until_ms = localMs(v("ends")); else body.minutes = v("minutes");
  if (v("daily_from") || v("daily_to")) body.daily = `${v("daily_from")}-${v("daily_to")}`;
  return body;
}

initSound();
initFilters();
const bulkAck = document.getElementById("bulk-acknowledge");
if (bulkAck) bulkAck.onclick = bulkAcknowledge;
setInterval(() => { if ([...state.rows.values()].some((r) => r.status === "resolved")) render(); }, 15000);
initSilenceForm();
connect();
checkHealth();
setInterval(checkHealth, HEALTH_POLL_MS);
setInterval(tick, 1000);
setInterval(refreshFigures, 30000);
