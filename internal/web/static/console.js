// EVCS console live view. Subscribes to /events (Server-Sent Events) when the page has a live
// part: [data-live="snapshot"] sections are updated from the dashboard snapshot, and
// [data-live-station] sections re-fetch their server-rendered HTML when their station reports.
// No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";
  var snapshotParts = document.querySelectorAll('[data-live="snapshot"]');
  var stationParts = document.querySelectorAll("[data-live-station]");
  if (!window.EventSource || (snapshotParts.length === 0 && stationParts.length === 0)) return;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function stationRow(s) {
    var tr = el("tr");
    tr.dataset.station = s.id;
    var a = el("a", "", s.id);
    a.href = "/stations/" + encodeURIComponent(s.id);
    var td = el("td");
    td.appendChild(a);
    tr.appendChild(td);
    tr.appendChild(el("td", "", s.site));
    var link = el("td", "link");
    link.appendChild(s.connected ? el("span", "chip s-online", "online " + (s.protocol || "")) : el("span", "chip s-offline", "offline"));
    tr.appendChild(link);
    var conns = el("td", "conns");
    (s.connectors || []).forEach(function (c) {
      conns.appendChild(el("span", "chip s-" + c.status, c.evse + "/" + c.connector + " " + c.status));
    });
    tr.appendChild(conns);
    tr.appendChild(el("td", "power", s.power_kw + " kW"));
    return tr;
  }

  function applySnapshot(snap) {
    document.querySelectorAll("[data-k]").forEach(function (e) {
      var v = snap[e.dataset.k];
      if (v !== undefined && v !== null && typeof v !== "object") e.textContent = String(v);
    });
    var stations = document.getElementById("stations");
    if (stations) {
      stations.replaceChildren.apply(stations, snap.stations.map(stationRow));
    }
    var alarms = document.getElementById("alarms");
    if (alarms && snap.alarms) {
      var items = snap.alarms.map(function (a) { return el("li", "sev-" + a.Severity, a.Severity + " " + a.Source + ": " + a.Text); });
      if (items.length === 0) items = [el("li", "muted", "No open alarms.")];
      alarms.replaceChildren.apply(alarms, items);
    }
    snap.sites.forEach(function (s) {
      var row = document.querySelector('tr[data-site="' + CSS.escape(s.id) + '"]');
      if (!row) return;
      var p = row.querySelector(".site-power");
      if (p) p.textContent = s.power_kw;
      var m = row.querySelector("meter");
      if (m) { m.value = s.power_w; m.textContent = s.percent + " %"; }
    });
    var counts = document.getElementById("connector-counts");
    if (counts) {
      var chips = snap.connector_counts.map(function (c) { return el("span", "chip s-" + c.status, c.status + " " + c.count); });
      if (chips.length === 0) chips = [el("span", "muted", "no connector reports yet")];
      counts.replaceChildren.apply(counts, chips);
    }
  }

  var timers = {};
  function refreshStation(part) {
    var id = part.dataset.liveStation;
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () {
      fetch(part.dataset.liveSrc, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) { part.innerHTML = html; }) // server-rendered, escaped by html/template
        .catch(function () {});
    }, 150);
  }

  var dot = document.getElementById("live-state");
  var es = new EventSource("/events");
  // On every (re)connect, catch up with what happened between the page's render and the
  // subscription (the dashboard gets a fresh snapshot from the server by itself).
  es.onopen = function () {
    if (dot) dot.classList.add("on");
    document.body.dataset.live = "on";
    stationParts.forEach(refreshStation);
  };
  es.onerror = function () { if (dot) dot.classList.remove("on"); document.body.dataset.live = "off"; };
  if (snapshotParts.length) {
    es.addEventListener("snapshot", function (e) { applySnapshot(JSON.parse(e.data)); });
  }
  if (stationParts.length) {
    es.addEventListener("station", function (e) {
      var ev = JSON.parse(e.data);
      stationParts.forEach(function (part) { if (part.dataset.liveStation === ev.station_id) refreshStation(part); });
    });
  }
})();
