/* Incident page: zone and travellers on the map, live figures every 5 s, SMS segment counters. */
(function () {
  "use strict";

  var data = Console.pageData();
  var labels = data.labels || {};

  /* ---- map ---- */
  if (document.getElementById("map")) {
    var map = BaseMap.create("map", { countriesUrl: data.countries_url, tileUrl: data.tile_url, lang: data.lang });
    var colours = { safe: "#1b7f3b", need_help: "#b3261e", no_answer: "#5f6b7a" };
    var zoneLayer = null;
    if (data.zone) {
      zoneLayer = L.geoJSON(data.zone, {
        interactive: false, style: { color: "#b3261e", weight: 2, fillOpacity: 0.12 }
      }).addTo(map);
    }
    var points = L.featureGroup().addTo(map);
    (data.points || []).forEach(function (p) {
      var colour = colours[p.response] || colours.no_answer;
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: 6, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 0.9
      });
      var tip = document.createElement("span");
      tip.textContent = [p.name, p.place, labels[p.response] || ""].filter(Boolean).join(" · ");
      marker.bindTooltip(tip);
      points.addLayer(marker);
    });
    var bounds = zoneLayer ? zoneLayer.getBounds() : null;
    if (points.getLayers().length) {
      bounds = bounds ? bounds.extend(points.getBounds()) : points.getBounds();
    }
    if (bounds && bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 9, padding: [20, 20] }); }
  }

  /* ---- live figures ---- */
  var ids = {
    affected: "stat-affected", delivered: "stat-delivered", safe: "stat-safe",
    need_help: "stat-need-help", no_answer: "stat-no-answer",
    sent: "stat-sent", messages_sent: "stat-sent", pending: "stat-pending", failed: "stat-failed"
  };
  function refresh() {
    if (document.hidden) { return; }
    fetch(data.stats_url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (stats) {
        if (!stats) { return; }
        Object.keys(ids).forEach(function (key) {
          var el = document.getElementById(ids[key]);
          if (el && stats[key] !== undefined && el.textContent !== String(stats[key])) {
            el.textContent = stats[key];
          }
        });
      })
      .catch(function () { /* try again next time */ });
  }
  if (data.stats_url) { window.setInterval(refresh, 5000); }

  /* ---- SMS counters (counted by the server: GSM-7 vs UCS-2 is subtle) ---- */
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-sms-counter]"), function (area) {
    var out = document.getElementById(area.getAttribute("data-sms-counter"));
    var timer = null;
    function update() {
      Console.postJSON(data.sms_info_url, { text: area.value }).then(function (res) {
        if (!res.ok || !out) { return; }
        out.textContent = Console.fill((res.data.segments === 1 ? labels.sms_one : labels.sms_many) || "", {
          length: res.data.length, segments: res.data.segments, encoding: res.data.encoding
        });
        out.classList.toggle("warn", res.data.segments > 1);
      });
    }
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 250);
    });
    update();
  });
})();
