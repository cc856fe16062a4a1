/* Registration form enhancements: add and remove destinations, suggest cities as the
 * traveller types, and pick an optional point on a small offline map. Without this script
 * the form still works for one destination; everything here only fills ordinary inputs
 * named stops-<i>-<field>, which the server reads and checks again. */
(function () {
  "use strict";

  var form = document.getElementById("register-form");
  if (!form) { return; }
  var list = form.querySelector("[data-stops]");
  var template = document.getElementById("stop-template");
  var addButton = form.querySelector("[data-add-stop]");
  var suggestUrl = form.getAttribute("data-suggest-url");
  var countriesUrl = form.getAttribute("data-countries-url");
  var maxStops = parseInt(form.getAttribute("data-max-stops"), 10) || 20;
  var STOP_NAME = /^stops-(\d+|__i__)-/;
  var countriesPromise = null;

  function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-stop]")); }

  /* Keep the indices contiguous (0, 1, 2...) after any add or remove, so that the server's
   * error for stops-1-departure lands on the second row the traveller sees. */
  function renumber() {
    rows().forEach(function (row, index) {
      var prefix = "stops-" + index + "-";
      row.querySelectorAll("[name],[id],[for],[list],[aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "list", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && STOP_NAME.test(value)) { el.setAttribute(attr, value.replace(STOP_NAME, prefix)); }
        });
      });
      var number = row.querySelector("[data-stop-number]");
      if (number) { number.textContent = String(index + 1); }
    });
    var count = rows().length;
    rows().forEach(function (row) {
      var remove = row.querySelector("[data-remove-stop]");
      if (remove) { remove.hidden = count < 2; }
    });
    if (addButton) { addButton.hidden = count >= maxStops; }
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function loadCountries() {
    if (!countriesPromise) {
      countriesPromise = fetch(countriesUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; });
    }
    return countriesPromise;
  }

  function featureCode(feature) {
    var p = feature.properties || {};
    return String(p.code || p.iso_a2 || p.ISO_A2 || feature.id || "").toUpperCase();
  }

  /* The bounds of a country's largest part: France's whole shape spans from Guiana to
   * Réunion, which would show most of the world instead of France. */
  function mainlandBounds(geometry) {
    if (!geometry) { return null; }
    var polygons = geometry.type === "MultiPolygon" ? geometry.coordinates
      : geometry.type === "Polygon" ? [geometry.coordinates] : [];
    var best = null, bestArea = -1;
    polygons.forEach(function (polygon) {
      var ring = polygon[0] || [];
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      ring.forEach(function (pt) {
        minX = Math.min(minX, pt[0]); maxX = Math.max(maxX, pt[0]);
        minY = Math.min(minY, pt[1]); maxY = Math.max(maxY, pt[1]);
      });
      var area = (maxX - minX) * (maxY - minY);
      if (ring.length && area > bestArea) { bestArea = area; best = L.latLngBounds([minY, minX], [maxY, maxX]); }
    });
    return best;
  }

  function setupSuggestions(row) {
    var place = row.querySelector("[data-stop-place]");
    var country = row.querySelector("[data-stop-country]");
    var datalist = row.querySelector("[data-stop-place-list]");
    if (!place || !country || !datalist) { return; }
    var lastQuery = "";
    place.addEventListener("input", debounce(function () {
      var q = place.value.trim();
      var code = country.value;
      if (!code || q.length < 2) { return; }
      var key = code + ":" + q;
      if (key === lastQuery) { return; }
      lastQuery = key;
      var url = suggestUrl + "?country=" + encodeURIComponent(code) + "&q=" + encodeURIComponent(q);
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (places) {
          if (lastQuery !== key) { return; }
          datalist.textContent = "";
          places.forEach(function (p) {
            var option = document.createElement("option");
            option.value = p.name;
            datalist.appendChild(option);
          });
        })
        .catch(function () { /* suggestions are a courtesy */ });
    }, 200));
    country.addEventListener("change", function () { datalist.textContent = ""; lastQuery = ""; });
  }

  function setupMap(row) {
    var toggle = row.querySelector("[data-toggle-map]");
    var mapDiv = row.querySelector("[data-stop-map]");
    var lat = row.querySelector("[data-stop-lat]");
    var lon = row.querySelector("[data-stop-lon]");
    var status = row.querySelector("[data-point-status]");
    var statusText = row.querySelector("[data-point-text]");
    var clear = row.querySelector("[data-clear-point]");
    var country = row.querySelector("[data-stop-country]");
    if (!toggle || !mapDiv || typeof L === "undefined") { return; }
    toggle.hidden = false;
    var map = null, marker = null, layer = null;

    function showPoint() {
      var has = lat.value !== "" && lon.value !== "";
      status.hidden = !has;
      if (has) { statusText.textContent = lat.value + ", " + lon.value; }
      if (!map) { return; }
      if (has) {
        var ll = [parseFloat(lat.value), parseFloat(lon.value)];
        if (marker) { marker.setLatLng(ll); } else { marker = L.circleMarker(ll, { radius: 7, color: "#b00020", weight: 2, fillOpacity: 0.8 }).addTo(map); }
      } else if (marker) { map.removeLayer(marker); marker = null; }
    }

    function focusCountry() {
      if (!map || !layer) { return; }
      var code = country.value;
      var bounds = null;
      layer.eachLayer(function (l) {
        if (code && featureCode(l.feature) === code) { bounds = mainlandBounds(l.feature.geometry); }
      });
      if (bounds && bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 7 }); }
    }

    function openMap() {
      mapDiv.hidden = false;
      if (map) { map.invalidateSize(); focusCountry(); return; }
      map = L.map(mapDiv, { worldCopyJump: true, attributionControl: false }).setView([20, 0], 1);
      loadCountries().then(function (data) {
        if (!data) { return; }
        layer = L.geoJSON(data, { style: { color: "#667", weight: 1, fillColor: "#e8ecef", fillOpacity: 1 } }).addTo(map);
        focusCountry();
        if (marker) { marker.bringToFront(); }
      });
      map.on("click", function (e) {
        var wrapped = e.latlng.wrap();
        lat.value = wrapped.lat.toFixed(5);
        lon.value = wrapped.lng.toFixed(5);
        showPoint();
      });
      showPoint();
    }

    toggle.addEventListener("click", function () {
      if (mapDiv.hidden) { openMap(); } else { mapDiv.hidden = true; }
    });
    clear.addEventListener("click", function () { lat.value = ""; lon.value = ""; showPoint(); });
    country.addEventListener("change", focusCountry);
  }

  function setupRow(row) {
    var remove = row.querySelector("[data-remove-stop]");
    if (remove) {
      remove.addEventListener("click", function () {
        if (rows().length < 2) { return; }
        row.parentNode.removeChild(row);
        renumber();
      });
    }
    setupSuggestions(row);
    setupMap(row);
  }

  rows().forEach(setupRow);

  if (addButton && template) {
    addButton.addEventListener("click", function () {
      if (rows().length >= maxStops) { return; }
      var fragment = template.content.cloneNode(true);
      var row = fragment.querySelector("[data-stop]");
      list.appendChild(fragment);
      setupRow(row);
      renumber();
      var first = row.querySelector("select, input:not([type=hidden])");
      if (first) { first.focus(); }
    });
  }

  /* The template's inputs must never be posted: it lives outside the form's rows, but clear
   * its names anyway in case a browser without <template> support renders it inline. */
  if (template && !("content" in template)) {
    template.querySelectorAll("[name]").forEach(function (el) { el.removeAttribute("name"); });
  }

  renumber();

  /* Companions and emergency contacts: rows named <group>-<i>-<field>, added from a
   * <template> up to data-max, removed freely, always renumbered from 0 so the server's
   * error for companions-1-phone lands on the second person shown. */
  function setupRepeat(container) {
    var group = container.getAttribute("data-repeat");
    var max = parseInt(container.getAttribute("data-max"), 10) || 10;
    var tpl = document.getElementById(container.getAttribute("data-template"));
    var add = form.querySelector('[data-add-row="' + group + '"]');
    var NAME = new RegExp("^" + group + "-(\\d+|__i__)-");
    function groupRows() { return Array.prototype.slice.call(container.querySelectorAll("[data-row]")); }
    function renumberGroup() {
      var all = groupRows();
      all.forEach(function (row, index) {
        var prefix = group + "-" + index + "-";
        row.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
          ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value && NAME.test(value)) { el.setAttribute(attr, value.replace(NAME, prefix)); }
          });
        });
        var number = row.querySelector("[data-row-number]");
        if (number) { number.textContent = String(index + 1); }
        var remove = row.querySelector("[data-remove-row]");
        if (remove) { remove.hidden = false; }
      });
      if (add) { add.hidden = all.length >= max; }
    }
    function wire(row) {
      var remove = row.querySelector("[data-remove-row]");
      if (remove) {
        remove.addEventListener("click", function () {
          row.parentNode.removeChild(row);
          renumberGroup();
        });
      }
    }
    groupRows().forEach(wire);
    if (add && tpl) {
      add.addEventListener("click", function () {
        if (groupRows().length >= max) { return; }
        var fragment = tpl.content.cloneNode(true);
        var row = fragment.querySelector("[data-row]");
        container.appendChild(fragment);
        wire(row);
        renumberGroup();
        var first = row.querySelector("input, select");
        if (first) { first.focus(); }
      });
    }
    if (tpl && !("content" in tpl)) {
      tpl.querySelectorAll("[name]").forEach(function (el) { el.removeAttribute("name"); });
    }
    renumberGroup();
  }

  Array.prototype.slice.call(form.querySelectorAll("[data-repeat]")).forEach(setupRepeat);

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
