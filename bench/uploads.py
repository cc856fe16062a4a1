"""Hostile zone uploads: how long each takes to be refused, and how much memory it costs.

    .venv/bin/python bench/uploads.py [--quick] [--only NAME,...] [--record]

The files are the hostile corpus the tests use (tests/geo/hostile_corpus.py): a GeoPackage
whose layer is a recursive view, a KMZ bomb whose header under-states its size, KMZs of 95 and
30 MB of KML, zipped Shapefiles of 650,000 and 200,000 polygons, encrypted, oddly compressed
and damaged zips, deeply nested and entity-expanding KML, GeoJSON of 650,000 positions and of
a million features... Each is read by `geo.formats.parse_upload` (the path of the console and
the API) in a forked child: its wall time, and its peak memory above the child's own start
(VmHWM minus VmRSS; the parent imported every library before forking, so imports are not
counted), best of three runs (one with --quick).

Baseline, in the same run and the same way: for each format, a valid zone a coordinator
could really upload (one ring of 20,000 vertices around Paris; `--baseline-vertices`) read
the limit-free way the readers used before the limits: pyogrio's whole-layer
`read_dataframe` for GeoPackage and Shapefile, ElementTree for KML and KMZ, `json.loads` for
GeoJSON, shapely's `from_wkt` for WKT. The ratio is the hostile file's seconds over that baseline's: how many good files'
worth of time a hostile one costs. The same good files also go through the bounded readers
(the whole of `parse_upload`, zone building included), to show the limits cost a good file
little. The unbounded path is only ever run on the benign files, never on the bombs. The
target is every hostile file answered in under 2 s with a peak under +200 MB.

The run's entry (commit, library versions, load; bench/provenance.py) is written under
bench/results/; `--record` also appends it to bench/RESULTS-uploads.md.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas  # noqa: E402,F401 - imported before forking, so no child pays for it
import pyogrio  # noqa: E402
import shapely  # noqa: E402

from bench import provenance  # noqa: E402
from geo.errors import GeoError  # noqa: E402
from geo.formats import parse_upload  # noqa: E402
from tests.geo import hostile_corpus as corpus  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS-uploads.md"
TARGET_SECONDS = 2.0
TARGET_MB = 200


def _kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def unbounded_read(fmt: str, filename: str, data: bytes) -> None:
    """The limit-free reading of a (benign) file: the whole thing, then nothing checked."""
    if fmt == "geojson":
        json.loads(data)
    elif fmt == "wkt":
        shapely.from_wkt(data.decode())
    elif fmt == "kml":
        ElementTree.fromstring(data)
    elif fmt == "kmz":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            ElementTree.fromstring(archive.read("doc.kml"))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            if fmt == "shapefile":
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    archive.extractall(tmp)
                path = Path(tmp, "zone.shp")
            else:
                path = Path(tmp, filename)
                path.write_bytes(data)
            pyogrio.read_dataframe(path)


def _child(how: str, fmt: str, filename: str, data: bytes, conn) -> None:
    start = _kb("VmRSS")
    began = time.perf_counter()
    try:
        if how == "unbounded":
            unbounded_read(fmt, filename, data)
        else:
            parse_upload(filename, data)
        outcome = "accepted"
    except GeoError as err:
        outcome = err.code
    except Exception as err:  # noqa: BLE001 - a crash is a result here
        outcome = f"CRASH {type(err).__name__}"
    conn.send((outcome, time.perf_counter() - began, (_kb("VmHWM") - start) / 1024))
    conn.close()


def measure(how: str, fmt: str, filename: str, data: bytes, repeats: int) -> tuple[str, float, float]:
    """(outcome, best seconds, largest peak MB above start) over `repeats` forked children."""
    context = multiprocessing.get_context("fork")
    runs = []
    for _ in range(repeats):
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(how, fmt, filename, data, child))
        process.start()
        child.close()
        try:
            runs.append(parent.recv())
        except EOFError:  # the child died (a crash in C code)
            runs.append((f"DIED (exit code {process.exitcode})", 0.0, 0.0))
        process.join()
    return runs[0][0], min(r[1] for r in runs), max(r[2] for r in runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per file instead of the best of three")
    parser.add_argument("--only", default="", help="comma-separated corpus names (default: all)")
    parser.add_argument("--baseline-vertices", type=int, default=20_000, help="vertices of the benign baseline zone")
    parser.add_argument("--record", action="store_true", help=provenance.RECORD_HELP.format(file="bench/RESULTS-uploads.md"))
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(corpus.CASES)
    repeats = 1 if args.quick else 3
    command = provenance.command_line(__file__, argv)
    with provenance.Run("uploads", RESULTS, record=args.record, command=command) as run:
        run.result(bench(names, repeats, args.baseline_vertices))
    return 0


def bench(names: list[str], repeats: int, vertices: int) -> str:
    lines = [f"Baseline: one ring of {vertices:,} vertices around Paris, in each format.", "",
             "| format | size | limit-free read: s | peak MB | bounded parse_upload | s | peak MB |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    baseline, good = {}, {}
    for fmt, (filename, data) in sorted(corpus.benign(vertices).items()):
        _, old_s, old_mb = measure("unbounded", fmt, filename, data, repeats)
        outcome, new_s, new_mb = measure("bounded", fmt, filename, data, repeats)
        baseline[fmt], good[fmt] = old_s, new_s
        lines.append(f"| {fmt} | {len(data):,} B | {old_s:.4f} | {old_mb:.1f} | {outcome} | {new_s:.4f} | {new_mb:.1f} |")
    print("\n".join(lines) + "\n", flush=True)
    table = ["| hostile file | size | refused with | s | peak MB above start | s / limit-free read of the good file "
             "| s / bounded upload of the good file | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    print("\n".join(table), flush=True)
    worst_s = worst_mb = 0.0
    for name in names:
        hostile = corpus.hostile_file(name)
        outcome, seconds, peak = measure("bounded", hostile.format, hostile.filename, hostile.data, repeats)
        worst_s, worst_mb = max(worst_s, seconds), max(worst_mb, peak)
        ok = outcome == hostile.code and seconds < TARGET_SECONDS and peak < TARGET_MB
        row = (f"| {name}: {hostile.what} | {len(hostile.data) / 1e6:.2f} MB | {outcome} | {seconds:.3f} | {peak:.1f} "
               f"| {seconds / baseline[hostile.format]:.1f}x | {seconds / good[hostile.format]:.2f}x "
               f"| {'ok' if ok else 'MISSED'} |")
        print(row, flush=True)
        table.append(row)
    summary = (f"Slowest refusal {worst_s:.3f} s, largest peak +{worst_mb:.1f} MB "
               f"(target: under {TARGET_SECONDS:g} s and +{TARGET_MB} MB).")
    print(summary)
    return "\n".join(lines) + "\n\n" + "\n".join(table) + "\n\n" + summary


if __name__ == "__main__":
    sys.exit(main())
