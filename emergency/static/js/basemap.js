/* A Leaflet map that works offline: country outlines from /countries.geojson as the base
   layer, and a tile layer only when MAP_TILE_URL is configured. */
(function () {
  "use strict";

  var countriesPromise = null;

  function loadCountries(url) {
    if (!countriesPromise) {
      countriesPromise = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("countries " + r.status); }
        return r.json();
      });
    }
    return countriesPromise;
  }

  function create(elementId, options) {
    options = options || {};
    var map = L.map(elementId, { worldCopyJump: true, minZoom: 1, maxZoom: 18 }).setView([20, 0], 2);
    map.attributionControl.setPrefix(false);
    if (options.tileUrl) {
      L.tileLayer(options.tileUrl, { maxZoom: 18 }).addTo(map);
    }
    if (options.countriesUrl) {
      loadCountries(options.countriesUrl).then(function (data) {
        var nameKey = options.lang === "fr" ? "name_fr" : "name_en";
        var layer = L.geoJSON(data, {
          interactive: !options.tileUrl,
          style: {
            color: "#8a94a3", weight: 0.7, fillColor: "#eef1f4",
            fillOpacity: options.tileUrl ? 0 : 1
          },
          onEachFeature: function (feature, lyr) {
            if (feature.properties && feature.properties[nameKey]) {
              lyr.bindTooltip(feature.properties[nameKey], { sticky: true });
            }
          }
        });
        layer.addTo(map);
        layer.bringToBack();
      }).catch(function () { /* the map still works without outlines */ });
    }
    return map;
  }

  window.BaseMap = { create: create };
})();
