/* Incident page: zones and clustered travellers on the map, live figures every 5 s, SMS segment counters. */
(function () {
  "use strict";

  var data = Console.pageData();
  var labels = data.labels || {};

  /* ---- map: zones in graded colours, travellers clustered (100k points stay responsive) ---- */
  if (document.getElementById("map")) {
    var map = BaseMap.create("map", { countriesUrl: data.countries_url, tileUrl: data.tile_url, lang: data.lang });
    window.incidentMap = map;
    var ringColours = ["#b3261e", "#e8710a", "#f2b705", "#7cb342", "#4f9fd1", "#8e6fc1"];
    var answerColours = ["#5f6b7a", "#1b7f3b", "#b3261e"];       // no answer, safe, need help
    var precisionColours = ["#1d4f91", "#4f9fd1", "#9aa5b1"];    // point, city, country
    var zoneLayer = L.featureGroup().addTo(map);
    var zones = (data.zones && data.zones.length) ? data.zones : (data.zone ? [{ severity: 1, zone: data.zone }] : []);
    // least severe first, so the most severe zone is drawn on top
    zones.slice().reverse().forEach(function (z, i) {
      var colour = ringColours[Math.min(zones.length - 1 - i, ringColours.length - 1)];
      L.geoJSON(z.zone, {
        interactive: !!z.label, style: { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.10 }
      }).eachLayer(function (l) {
        if (z.label) { l.bindTooltip(document.createTextNode(z.label)); }
        zoneLayer.addLayer(l);
      });
    });
    var zoneBounds = zoneLayer.getLayers().length ? zoneLayer.getBounds() : null;
    if (zoneBounds && zoneBounds.isValid()) { map.fitBounds(zoneBounds, { maxZoom: 9, padding: [20, 20] }); }

    var statusEl = document.getElementById("map-status");
    var legendEl = document.getElementById("map-legend");

    function legend(mode) {
      if (!legendEl) { return; }
      legendEl.textContent = "";
      var names = mode === "answer" ? ["no_answer", "safe", "need_help"] : ["point", "city"];
      var colours = mode === "answer" ? answerColours : precisionColours;
      names.forEach(function (name, i) {
        var dot = document.createElement("span");
        dot.className = "dot";
        dot.style.background = colours[i];
        legendEl.appendChild(dot);
        legendEl.appendChild(document.createTextNode(" " + (labels[name] || name) + "  "));
      });
    }

    /* A cluster's icon is a small pie of its members' categories (cheap: a CSS conic gradient). */
    function clusterIcon(colours, categoryOf) {
      return function (cluster) {
        var counts = [0, 0, 0];
        cluster.getAllChildMarkers().forEach(function (m) { counts[categoryOf(m)] += 1; });
        var total = counts[0] + counts[1] + counts[2];
        var stops = [], start = 0;
        counts.forEach(function (c, i) {
          if (!c) { return; }
          var end = start + (c / total) * 100;
          stops.push(colours[i] + " " + start.toFixed(1) + "% " + end.toFixed(1) + "%");
          start = end;
        });
        var size = total < 100 ? 34 : (total < 10000 ? 42 : 50);
        var div = document.createElement("div");
        div.className = "cluster-pie";
        div.style.cssText = "width:" + size + "px;height:" + size + "px;border-radius:50%;display:flex;" +
          "align-items:center;justify-content:center;background:conic-gradient(" + stops.join(",") + ");" +
          "box-shadow:0 0 0 2px #fff;";
        var inner = document.createElement("span");
        inner.style.cssText = "background:#fff;border-radius:50%;padding:2px 5px;font:600 11px/1.2 sans-serif;color:#111;";
        inner.textContent = total >= 1000 ? Math.round(total / 100) / 10 + "k" : String(total);
        div.appendChild(inner);
        return L.divIcon({ html: div, className: "cluster-icon", iconSize: L.point(size, size) });
      };
    }

    if (data.points_url && window.L && L.markerClusterGroup) {
      fetch(data.points_url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (payload) {
          var mode = payload.mode === "answer" ? "answer" : "precision";
          var colours = mode === "answer" ? answerColours : precisionColours;
          var column = mode === "answer" ? 3 : 2;
          legend(mode);
          // one shared small icon per colour: markers are plain L.Marker, as markercluster expects
          // (the dot is built as an element and styled through the DOM: the page's
          // Content-Security-Policy refuses style attributes in HTML strings)
          var icons = colours.map(function (colour) {
            var icon = L.divIcon({ className: "point-icon", iconSize: L.point(12, 12), html: "" });
            var create = icon.createIcon;
            icon.createIcon = function (old) {
              var div = create.call(icon, old);
              var dot = document.createElement("span");
              dot.style.cssText = "display:block;width:10px;height:10px;border-radius:50%;border:1px solid #fff;";
              dot.style.background = colour;
              div.textContent = "";
              div.appendChild(dot);
              return div;
            };
            return icon;
          });
          var group = L.markerClusterGroup({
            chunkedLoading: true, chunkInterval: 100, chunkDelay: 20, animate: false,

            showCoverageOnHover: false, spiderfyOnMaxZoom: true, removeOutsideVisibleBounds: true,
            maxClusterRadius: 60,
            iconCreateFunction: clusterIcon(colours, function (m) { return m.options.category; })
          });
          var markers = new Array(payload.points.length);
          for (var i = 0; i < payload.points.length; i++) {
            var p = payload.points[i];
            var category = Math.min(p[column], 2);
            markers[i] = L.marker([p[0], p[1]], { icon: icons[category], keyboard: false, category: category });
          }
          // on the map first, so addLayers works in chunks and the page keeps answering
          map.addLayer(group);
          window.incidentClusters = group;  // lets scripted checks look at what was drawn
          window.incidentPointsCount = markers.length;
          group.addLayers(markers);
          if (statusEl) {
            statusEl.textContent = Console.fill(Console.plural(labels.map_count, payload.count), {
              count: payload.count, country_only: payload.country_only
            });
          }
          if (!zoneBounds && markers.length) {
            try { map.fitBounds(group.getBounds(), { maxZoom: 9, padding: [20, 20] }); } catch (e) { /* empty */ }
          }
        })
        .catch(function () { if (statusEl) { statusEl.textContent = labels.map_failed || ""; } });
    }
  }

  /* ---- live figures ---- */
  var ids = {
    affected: "stat-affected", delivered: "stat-delivered", safe: "stat-safe",
    need_help: "stat-need-help", no_answer: "stat-no-answer",
    sent: "stat-sent", messages_sent: "stat-sent", pending: "stat-pending", failed: "stat-failed"
  };
  // per person (travellers and their companions): stats.household
  var householdIds = {
    people: "stat-people", safe: "stat-people-safe", need_help: "stat-people-need-help",
    no_answer: "stat-people-no-answer", covered_by_someone_else: "stat-people-covered"
  };
  function show(figures, names) {
    if (!figures) { return; }
    Object.keys(names).forEach(function (key) {
      var el = document.getElementById(names[key]);
      if (el && figures[key] !== undefined && el.textContent !== String(figures[key])) {
        el.textContent = figures[key];
      }
    });
  }
  var refreshing = false;  // one request at a time: a slow count must not pile requests up
  function refresh() {
    if (document.hidden || refreshing) { return; }
    refreshing = true;
    fetch(data.stats_url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (stats) {
        if (!stats) { return; }
        show(stats, ids);
        show(stats.household, householdIds);
      })
      .catch(function () { /* try again next time */ })
      .then(function () { refreshing = false; });
  }
  if (data.stats_url) { window.setInterval(refresh, 5000); }

  /* ---- SMS counters (counted by the server: GSM-7 vs UCS-2 is subtle) ---- */
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-sms-counter]"), function (area) {
    var out = document.getElementById(area.getAttribute("data-sms-counter"));
    var timer = null;
    // The alert's two SMS texts are sent as one bilingual SMS: their counters show that
    // message (filled by estimate() below), not the text typed in one box.
    if (data.sms_estimate_url && (area.id === "sms_en" || area.id === "sms_fr")) { return; }
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
    area.addEventListener("sms:changed", update);
    update();
  });

  /* ---- composer: kind picker, total segments, GSM-7-safe French ---- */
  var kindSelect = document.getElementById("kind");
  var smsEn = document.getElementById("sms_en");
  var smsFr = document.getElementById("sms_fr");
  var totalOut = document.getElementById("sms-total");
  var safeBox = document.getElementById("gsm-safe");
  var safeButton = document.getElementById("gsm-safe-button");
  var safeInfo = document.getElementById("gsm-safe-info");
  var safeText = null;
  var textFields = ["subject_en", "subject_fr", "body_en", "body_fr", "sms_en", "sms_fr"];

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el && el.value !== value) {
      el.value = value;
      el.dispatchEvent(new Event("sms:changed"));
    }
  }

  if (kindSelect && data.kind_texts) {
    var shownKind = kindSelect.value;
    kindSelect.addEventListener("change", function () {
      var current = data.kind_texts[shownKind] || {};
      var edited = textFields.some(function (id) {
        var el = document.getElementById(id);
        return el && current[id] !== undefined && el.value !== current[id];
      });
      if (edited && !window.confirm(labels.replace_texts || "")) {
        kindSelect.value = shownKind;
        return;
      }
      shownKind = kindSelect.value;
      var texts = data.kind_texts[shownKind] || {};
      textFields.forEach(function (id) { if (texts[id] !== undefined) { setText(id, texts[id]); } });
      estimate();
    });
  }

  var estimateTimer = null;
  function estimate() {
    if (!smsEn || !smsFr || !data.sms_estimate_url) { return; }
    Console.postJSON(data.sms_estimate_url, { sms_en: smsEn.value, sms_fr: smsFr.value }).then(function (res) {
      if (!res.ok) { return; }
      var d = res.data, en = d.languages.en, fr = d.languages.fr;
      [["en", smsEn], ["fr", smsFr]].forEach(function (pair) {
        var out = document.getElementById(pair[1].getAttribute("data-sms-counter"));
        var m = d.languages[pair[0]].message;
        if (!out) { return; }
        out.textContent = Console.fill((m.segments === 1 ? labels["received_one_" + pair[0]] : labels["received_many_" + pair[0]]) || "", {
          length: m.length, segments: m.segments, encoding: m.encoding
        });
        out.classList.toggle("warn", m.segments > 1);
      });
      if (totalOut) {
        totalOut.textContent = Console.fill(labels.sms_total || "", {
          total: d.total_segments, recipients: d.recipients,
          en: en.recipients, en_segments: en.message.segments,
          fr: fr.recipients, fr_segments: fr.message.segments
        });
      }
      var variant = d.gsm_safe_fr;
      safeText = variant ? variant.text : null;
      if (safeBox) { safeBox.hidden = !variant; }
      if (variant && safeInfo) {
        safeInfo.textContent = Console.fill(labels.gsm_safe || "", {
          before: variant.before.segments, before_encoding: variant.before.encoding,
          after: variant.after.segments, after_encoding: variant.after.encoding,
          total: variant.total_segments
        });
      }
    });
  }
  [smsEn, smsFr].forEach(function (area) {
    if (!area) { return; }
    area.addEventListener("input", function () {
      window.clearTimeout(estimateTimer);
      estimateTimer = window.setTimeout(estimate, 300);
    });
  });
  if (safeButton) {
    safeButton.addEventListener("click", function () {
      if (safeText !== null) { setText("sms_fr", safeText); estimate(); }
    });
  }
  estimate();
})();
