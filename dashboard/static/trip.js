// The trip view and the incident page: times in the supervisor's own zone, the map (Leaflet), the incident buttons.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time";

function localTime(ms) {
  const moment = new Date(ms), today = new Date();
  const time = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (moment.toDateString() === today.toDateString()) return time;
  return `${moment.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

function showTimes() {
  document.getElementById("zone").textContent = zone;
  for (const node of document.querySelectorAll("time.ts")) {
    const ms = Number(node.dataset.ms);
    if (!ms) { node.textContent = "—"; continue; }
    node.dateTime = new Date(ms).toISOString();
    node.textContent = localTime(ms);
    if (node.dataset.countdown) {
      const left = Math.round((ms - Date.now()) / 60000);
      node.textContent += left >= 0 ? ` (in ${left} min)` : ` (overdue by ${-left} min)`;
    }
  }
}

const COLOURS = { route: "#2f6fde", old: "#9aa3b2", track: "#1d2330", off: "#b3261e", pickup: "#0b8a4d",
  dropoff: "#0b5f8a", safety: "#b3261e" };

function drawMap(data) {
  const box = document.getElementById("trip-map");
  if (!box || !window.L) return;
  const m = data.map;
  const map = L.map(box, { attributionControl: Boolean(data.tiles.url) });
  if (data.tiles.url) {
    L.tileLayer(data.tiles.url, { maxZoom: 19, attribution: data.tiles.attribution }).addTo(map);
  } else {
    box.classList.add("plain");  // no tile server: a plain background, the trip still drawn
  }
  const layers = [];
  for (const old of m.routes) layers.push(L.polyline(old, { color: COLOURS.old, weight: 3, dashArray: "6 4", className: "old-route" }));
  if (m.route.length) layers.push(L.polyline(m.route, { color: COLOURS.route, weight: 5, className: "planned-route" }));
  if (m.track.length) layers.push(L.polyline(m.track, { color: COLOURS.track, weight: 2, className: "actual-track" }));
  for (const stretch of m.off_route) {
    layers.push(stretch.length > 1
      ? L.polyline(stretch, { color: COLOURS.off, weight: 5, className: "off-route" })
      : L.circleMarker(stretch[0], { radius: 5, color: COLOURS.off, fillOpacity: 1, className: "off-route" }));
  }
  for (const point of m.points) {
    const colour = COLOURS[point.what] || COLOURS.safety;
    const mark = L.circleMarker(point.at, { radius: point.what in COLOURS ? 7 : 9, color: "#fff", weight: 2,
      fillColor: colour, fillOpacity: 1, className: `point point-${point.what}` });
    mark.bindTooltip(point.label, { permanent: true, direction: "top", offset: [0, -8] });
    layers.push(mark);
  }
  const group = L.featureGroup(layers).addTo(map);
  map.fitBounds(group.getBounds(), { padding: [30, 30], maxZoom: 16 });
  window.twMap = map;
}

const ACTIONS = JSON.parse(document.getElementById("tw-actions")?.textContent || "{}");

async function act(button) {
  const item = button.closest("[data-incident-id]");
  const action = button.dataset.action;
  let text = "";
  const asks = ACTIONS[action].asks;  // the server's table (monitor/supervision.py BOARD_ACTIONS)
  if (asks) {
    text = prompt(ACTIONS[action].names_user ? `${asks} (user name)` : asks) || "";
    if (!text.trim()) return;
  }
  const response = await fetch(`/api/incidents/${encodeURIComponent(item.dataset.incidentId)}/${action}`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify({ text }) });
  if (response.ok) { location.reload(); return; }
  const flash = document.getElementById("flash");
  flash.hidden = false;
  flash.textContent = `${action} refused: ${await response.text()}`;
}

for (const button of document.querySelectorAll("button.act[data-action]")) button.onclick = () => act(button);
showTimes();
const tripData = document.getElementById("trip-data");
if (tripData) drawMap(JSON.parse(tripData.textContent));
