"""Pure geospatial library: incident zones (parsing, validation, repair, antimeridian),
geodesic circles, the shipped country layer, an offline gazetteer and the in-memory
spatial join. No Flask and none of our other packages are imported here."""
