/* New incident page: zone by drawing, upload, text, countries or circle; severity rings;
   live "who is affected" preview with counts per zone. */
(function () {
  "use strict";

  var data = Console.pageData();
  var labels = data.labels || {};
  var form = document.getElementById("incident-form");
  var hidden = document.getElementById("zone_geojson");
  var map = BaseMap.create("map", { countriesUrl: data.countries_url, tileUrl: data.tile_url, lang: data.lang });
  window.incidentMap = map; // lets scripted checks (and a curious officer) move the map

  /* ---- zone kind tabs ---- */
  function currentKind() {
    var checked = form.querySelector('input[name="zone_kind"]:checked');
    return checked ? checked.value : "draw";
  }
  function showPanels() {
    var kind = currentKind();
    Array.prototype.forEach.call(document.querySelectorAll(".zone-panel"), function (panel) {
      panel.hidden = panel.getAttribute("data-kind") !== kind;
    });
    Array.prototype.forEach.call(document.querySelectorAll(".tabs .tab"), function (tab) {
      var input = tab.querySelector("input");
      tab.classList.toggle("active", !!(input && input.checked));
    });
    drawnItems.eachLayer(function (l) { l.setStyle({ opacity: kind === "draw" ? 1 : 0.3, fillOpacity: kind === "draw" ? 0.2 : 0.05 }); });
    if (circleLayer) { circleLayer.setStyle({ opacity: kind === "circle" ? 1 : 0.3 }); }
  }

  /* ---- drawing ---- */
  var drawnItems = new L.FeatureGroup().addTo(map);
  var shapeStyle = { color: "#b3261e", weight: 2, fillOpacity: 0.2 };
  map.addControl(new L.Control.Draw({
    position: "topleft",
    draw: {
      polygon: { allowIntersection: false, showArea: false, shapeOptions: shapeStyle },
      rectangle: { showArea: false, shapeOptions: shapeStyle },  // showArea breaks with Leaflet >= 1.8
      polyline: false, circle: false, marker: false, circlemarker: false
    },
    edit: { featureGroup: drawnItems, remove: true }
  }));

  function serialiseDrawing() {
    var features = drawnItems.toGeoJSON().features;
    if (!features.length) { hidden.value = ""; return; }
    hidden.value = JSON.stringify(features.length === 1 ? features[0].geometry : drawnItems.toGeoJSON());
  }
  map.on(L.Draw.Event.CREATED, function (event) {
    drawnItems.clearLayers();
    drawnItems.addLayer(event.layer);
    serialiseDrawing();
    selectKind("draw");
  });
  map.on(L.Draw.Event.EDITED, serialiseDrawing);
  map.on(L.Draw.Event.DELETED, serialiseDrawing);

  function selectKind(kind) {
    var input = form.querySelector('input[name="zone_kind"][value="' + kind + '"]');
    if (input && !input.checked) { input.checked = true; }
    showPanels();
  }

  /* A drawing kept from a form that came back with errors. */
  if (hidden.value) {
    try {
      L.geoJSON(JSON.parse(hidden.value), { style: shapeStyle }).eachLayer(function (l) { drawnItems.addLayer(l); });
      if (drawnItems.getLayers().length) { map.fitBounds(drawnItems.getBounds(), { maxZoom: 8 }); }
    } catch (e) { hidden.value = ""; }
  }

  /* ---- circle ---- */
  var latInput = document.getElementById("lat");
  var lonInput = document.getElementById("lon");
  var radiusInput = document.getElementById("radius_km");
  var circleLayer = null;

  function number(input) {
    var v = parseFloat(String(input.value).replace(",", "."));
    return isFinite(v) ? v : null;
  }
  function drawCircle() {
    var lat = number(latInput), lon = number(lonInput), r = number(radiusInput);
    if (circleLayer) { map.removeLayer(circleLayer); circleLayer = null; }
    if (lat === null || lon === null || lat < -90 || lat > 90) { return; }
    if (r !== null && r > 0) {
      circleLayer = L.circle([lat, lon], { radius: r * 1000, color: "#1d4f91", weight: 2, fillOpacity: 0.15 }).addTo(map);
    } else {
      circleLayer = L.circleMarker([lat, lon], { radius: 5, color: "#1d4f91" }).addTo(map);
    }
  }
  [latInput, lonInput, radiusInput].forEach(function (input) { input.addEventListener("input", drawCircle); });
  map.on("click", function (event) {
    if (currentKind() !== "circle") { return; }
    var ll = event.latlng.wrap();
    latInput.value = ll.lat.toFixed(4);
    lonInput.value = ll.lng.toFixed(4);
    if (!radiusInput.value) { radiusInput.value = "50"; }
    drawCircle();
  });
  drawCircle();

  /* ---- severity rings: show one more row per click, draw rings around the circle ---- */
  var ringLayers = L.layerGroup().addTo(map);
  var ringColours = ["#e8710a", "#f2b705", "#7cb342", "#4f9fd1", "#8e6fc1"];
  function ringRows() { return Array.prototype.slice.call(document.querySelectorAll("#rings .ring")); }
  function drawRings() {
    ringLayers.clearLayers();
    var lat = number(latInput), lon = number(lonInput);
    if (lat === null || lon === null || currentKind() !== "circle") { return; }
    ringRows().forEach(function (row, i) {
      var input = row.querySelector('input[name$="-radius_km"]');
      var r = input ? number(input) : null;
      if (r !== null && r > 0) {
        L.circle([lat, lon], { radius: r * 1000, color: ringColours[i % ringColours.length], weight: 1.5,
                               fill: false, dashArray: "6 4", interactive: false }).addTo(ringLayers);
      }
    });
  }
  ringRows().forEach(function (row) {
    Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) { input.addEventListener("input", drawRings); });
  });
  [latInput, lonInput].forEach(function (input) { input.addEventListener("input", drawRings); });
  var addRing = document.getElementById("add-ring");
  if (addRing) {
    addRing.addEventListener("click", function () {
      var hiddenRow = ringRows().filter(function (row) { return row.hidden; })[0];
      if (hiddenRow) {
        hiddenRow.hidden = false;
        var first = hiddenRow.querySelector("input");
        if (first) { first.focus(); }
      }
      addRing.disabled = !ringRows().some(function (row) { return row.hidden; });
    });
  }
  var textKind = document.getElementById("text_kind");
  var corridorField = document.getElementById("corridor-field");
  function showCorridor() { if (corridorField && textKind) { corridorField.hidden = textKind.value !== "corridor"; } }
  if (textKind) { textKind.addEventListener("change", showCorridor); showCorridor(); }

  Array.prototype.forEach.call(form.querySelectorAll('input[name="zone_kind"]'), function (input) {
    input.addEventListener("change", drawRings);
  });
  drawRings();

  Array.prototype.forEach.call(form.querySelectorAll('input[name="zone_kind"]'), function (input) {
    input.addEventListener("change", showPanels);
  });
  showPanels();

  /* ---- preview ---- */
  var button = document.getElementById("preview-button");
  var countEl = document.getElementById("affected-count");
  var errorEl = document.getElementById("preview-error");
  var noteEl = document.getElementById("preview-note");
  var table = document.getElementById("preview-table");
  var moreEl = document.getElementById("preview-more");
  var previewLayer = null;

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : text;
    if (className) { td.className = className; }
    row.appendChild(td);
  }

  var pageLang = document.documentElement.lang || "en";
  function decimal(value) {
    return value.toLocaleString(pageLang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }

  /* After a refused zone nothing of the previous zone's preview stays on screen. */
  function clearPreview() {
    table.querySelector("tbody").textContent = "";
    table.hidden = true;
    moreEl.hidden = true;
    noteEl.hidden = true;
    var zonesEl = document.getElementById("preview-zones");
    if (zonesEl) { zonesEl.textContent = ""; zonesEl.hidden = true; }
    if (previewLayer) { map.removeLayer(previewLayer); previewLayer = null; }
  }

  function showPreview(result) {
    countEl.textContent = result.count;
    var note = result.note || (result.repaired ? labels.repaired : "");
    noteEl.textContent = note || "";
    noteEl.hidden = !note;
    var tbody = table.querySelector("tbody");
    tbody.textContent = "";
    (result.rows || []).forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, r.name);
      cell(tr, labels["language_" + r.language] || null);
      cell(tr, [r.place, r.country_name || r.country].filter(Boolean).join(", "));
      cell(tr, labels[r.located_by] || labels[r.precision] || "—");
      cell(tr, typeof r.distance_km === "number" ? decimal(r.distance_km) : null, "num");
      tbody.appendChild(tr);
    });
    table.hidden = !(result.rows && result.rows.length);
    var shown = (result.rows || []).length;
    moreEl.hidden = !(result.count > shown);
    moreEl.textContent = Console.fill(labels.more || "", { shown: shown, count: result.count });
    var zonesEl = document.getElementById("preview-zones");
    if (zonesEl) {
      zonesEl.textContent = "";
      var zones = result.zones || [];
      zones.forEach(function (z) {
        var li = document.createElement("li");
        li.textContent = Console.fill(labels.zone_count || "", {
          label: z.label || Console.fill(labels.severity || "", { n: z.severity }),
          count: z.count, possibly: z.possibly
        });
        zonesEl.appendChild(li);
      });
      zonesEl.hidden = zones.length < 2;
    }
    if (previewLayer) { map.removeLayer(previewLayer); previewLayer = null; }
    if (result.zone) {
      previewLayer = L.geoJSON(result.zone, {
        interactive: false, style: { color: "#111", weight: 1.5, dashArray: "4 4", fill: false }
      }).addTo(map);
      try { map.fitBounds(previewLayer.getBounds(), { maxZoom: 9, padding: [20, 20] }); } catch (e) { /* empty */ }
    }
  }

  function markFieldErrors(errors) {
    var zone = document.getElementById("zone-fieldset");
    var when = document.getElementById("window-fieldset");
    if (zone) { zone.classList.toggle("has-error", !!errors.zone); }
    if (when) { when.classList.toggle("has-error", !!(errors.window || errors.starts_at || errors.ends_at)); }
  }

  button.addEventListener("click", function () {
    if (currentKind() === "draw") { serialiseDrawing(); }
    button.disabled = true;
    errorEl.hidden = true;
    countEl.textContent = "…";
    countEl.setAttribute("aria-busy", "true");
    Console.postJSON(data.preview_url, new FormData(form)).then(function (res) {
      if (res.ok) {
        markFieldErrors({});
        showPreview(res.data);
      } else {
        var errors = (res.data && res.data.errors) || {};
        var messages = Object.keys(errors).map(function (k) { return errors[k]; });
        errorEl.textContent = messages.join(" ") || labels.failed;
        errorEl.hidden = false;
        countEl.textContent = "–";
        clearPreview();
        markFieldErrors(errors);
      }
    }).catch(function () {
      errorEl.textContent = labels.failed;
      errorEl.hidden = false;
      countEl.textContent = "–";
      clearPreview();
    }).then(function () {
      button.disabled = false;
      countEl.removeAttribute("aria-busy");
    });
  });

  form.addEventListener("submit", function () {
    if (currentKind() === "draw") { serialiseDrawing(); }
  });
})();
