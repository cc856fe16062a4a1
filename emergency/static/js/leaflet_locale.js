/* Leaflet's and Leaflet.draw's own controls in the page's language: the words come from the
   JSON block #leaflet-labels that the page writes with its translations (no inline script). */
(function () {
  "use strict";
  var el = document.getElementById("leaflet-labels");
  if (!el || !window.L) { return; }
  var t;
  try { t = JSON.parse(el.textContent); } catch (e) { return; }
  L.Control.Zoom.prototype.options.zoomInTitle = t.zoom_in;
  L.Control.Zoom.prototype.options.zoomOutTitle = t.zoom_out;
  if (!L.drawLocal) { return; }
  var draw = L.drawLocal.draw, edit = L.drawLocal.edit;
  draw.toolbar.actions = { title: t.cancel_drawing, text: t.cancel };
  draw.toolbar.finish = { title: t.finish_drawing, text: t.finish };
  draw.toolbar.undo = { title: t.undo_title, text: t.undo };
  draw.toolbar.buttons.polygon = t.draw_polygon;
  draw.toolbar.buttons.rectangle = t.draw_rectangle;
  draw.handlers.polygon.tooltip = { start: t.polygon_start, cont: t.polygon_cont, end: t.polygon_end };
  draw.handlers.polyline.error = t.edges_cross;
  draw.handlers.rectangle.tooltip = { start: t.rectangle_start };
  draw.handlers.simpleshape.tooltip = { end: t.release };
  edit.toolbar.actions.save = { title: t.save_title, text: t.save };
  edit.toolbar.actions.cancel = { title: t.cancel_edit_title, text: t.cancel };
  edit.toolbar.actions.clearAll = { title: t.clear_all_title, text: t.clear_all };
  edit.toolbar.buttons = { edit: t.edit_layers, editDisabled: t.no_layers_edit, remove: t.delete_layers,
                           removeDisabled: t.no_layers_delete };
  edit.handlers.edit.tooltip = { text: t.edit_text, subtext: t.edit_subtext };
  edit.handlers.remove.tooltip = { text: t.remove_text };
})();
