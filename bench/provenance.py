"""What a benchmark's figures depend on, kept with them: the commit (with "+dirty" when the
work tree differs from it), the versions of the libraries and database servers that do the
work, and how busy the machine was (load average and CPU count at the start and the end).

A ratio against a baseline measured in the same run survives a busy or a faster machine far
better than an absolute time does, but not a change of code, library or server: two entries
can only be compared when these match, and a load average well above the CPU count says the
run shared its cores. Every script in bench/ goes through `Run`:

    with provenance.Run("import", RESULTS, record=args.record) as run:
        run.add_database(url)          # PostgreSQL + PostGIS, or SQLite, versions
        ...                            # print the results as usual

What is printed inside the block still goes to the terminal and is also kept. At the end
the entry (provenance, command, output) is written to bench/results/<name>-<UTC time>.md,
which git ignores. Only with `record=True` (the scripts' `--record`) is the same entry also
appended, dated, to the tracked RESULTS file; nothing already in that file is changed.
"""
from __future__ import annotations

import io
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"

# (label, distribution name) of the libraries a benchmark's figures depend on.
LIBRARIES = (
    ("SQLAlchemy", "sqlalchemy"),
    ("GeoAlchemy2", "geoalchemy2"),
    ("shapely", "shapely"),
    ("pyproj", "pyproj"),
    ("geopandas", "geopandas"),
    ("numpy", "numpy"),
    ("RQ", "rq"),
    ("redis-py", "redis"),
    ("psycopg", "psycopg"),
    ("twilio", "twilio"),
    ("sendgrid", "sendgrid"),
)

RECORD_HELP = ("also append this run, dated and with its provenance, to the tracked {file}; "
               "without it the entry is only written under bench/results/ (git-ignored)")


def command_line(script: str, argv: list[str] | None = None) -> str:
    """How to repeat the run: `python bench/<script> ARGS` (`argv` defaults to this process's)."""
    return shlex.join(["python", _relative(script), *(sys.argv[1:] if argv is None else argv)])


def commit() -> str:
    """HEAD's id, with "+dirty" when tracked or untracked (not ignored) files differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
        changes = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], check=True,
                                 capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if changes else "")


def library_versions() -> dict[str, str]:
    """Python and each of LIBRARIES, as installed; GEOS and PROJ are the C libraries behind
    shapely and pyproj, and change their speed as much as the wrappers do."""
    import pyproj
    import shapely

    found = {"Python": platform.python_version()}
    found.update((label, metadata.version(dist)) for label, dist in LIBRARIES)
    found["shapely"] += f" (GEOS {shapely.geos_version_string})"
    found["pyproj"] += f" (PROJ {pyproj.proj_version_str})"
    return found


def database_versions(url: str) -> str:
    """"PostgreSQL 15.2, PostGIS 3.3.2" for a PostgreSQL URL (PostGIS as installed in that
    database, else the version the server offers); "SQLite 3.40.1" for SQLite (the library
    linked into this Python, which is the engine itself)."""
    if url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            server = conn.scalar(text("SHOW server_version"))
            installed = conn.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'"))
            offered = conn.scalar(text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'"))
    except Exception as exc:  # noqa: BLE001 - the entry says so rather than losing the run
        return f"PostgreSQL (unreachable: {exc.__class__.__name__})"
    finally:
        engine.dispose()
    if installed:
        postgis = f"PostGIS {installed}"
    elif offered:
        postgis = f"PostGIS {offered} available, not installed"
    else:
        postgis = "no PostGIS"
    return f"PostgreSQL {server}, {postgis}"


def redis_version(url: str) -> str:
    try:
        from redis import Redis

        client = Redis.from_url(url)
        try:
            return f"Redis {client.info('server')['redis_version']}"
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        return f"Redis (unreachable: {exc.__class__.__name__})"


def machine_load() -> dict[str, object]:
    """Load average (1, 5, 15 min) and CPUs: all of the machine's, and those this process may use."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {"loadavg": os.getloadavg(), "cpus": os.cpu_count(), "usable": usable}


def _load(state: dict) -> str:
    one, five, fifteen = state["loadavg"]
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} with {state['cpus']} CPUs ({state['usable']} usable)"


class _Tee(io.TextIOBase):
    """sys.stdout for the run: writes go to the terminal and are kept for the entry."""

    def __init__(self, terminal) -> None:
        self.terminal = terminal
        self.kept = io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        self.terminal.flush()

    def fileno(self) -> int:
        return self.terminal.fileno()

    def isatty(self) -> bool:
        return self.terminal.isatty()

    @property
    def encoding(self) -> str:
        return self.terminal.encoding


class Run:
    """One benchmark run: see the module's docstring. `results_file` is the tracked RESULTS
    file `record` appends to (None: the script has none, the entry stays under bench/results/)."""

    def __init__(self, name: str, results_file: Path | None = None, *, record: bool = False,
                 command: str | None = None, capture: bool = True) -> None:
        if record and results_file is None:
            raise ValueError(f"{name} has no RESULTS file to record to")
        self.name = name
        self.results_file = results_file
        self.record = record
        # False where something else owns sys.stdout (pytest): the entry then holds `result` only.
        self.capture = capture
        self.command = command or command_line(sys.argv[0])
        self.servers: list[str] = []
        self._result: str | None = None
        self._tee: _Tee | None = None

    # --- what the script adds ---

    def add_database(self, url: str) -> None:
        """Record the server (and PostGIS) version behind `url`; call it while the database exists."""
        self._add(database_versions(url))

    def add_redis(self, url: str) -> None:
        self._add(redis_version(url))

    def result(self, text: str) -> None:
        """What the entry shows as the run's result, instead of everything printed (which
        still goes to the terminal and to the copy under bench/results/)."""
        self._result = text

    def _add(self, server: str) -> None:
        if server not in self.servers:
            self.servers.append(server)

    # --- the run ---

    def __enter__(self) -> Run:
        self.started = datetime.now(timezone.utc)
        self._clock = time.perf_counter()
        self.commit = commit()
        self.libraries = library_versions()
        self.load_start = machine_load()
        print(f"{self.name}: commit {self.commit}; load {_load(self.load_start)}", flush=True)
        if self.capture:
            self._tee = _Tee(sys.stdout)
            sys.stdout = self._tee
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._tee is not None:
            sys.stdout.flush()
            sys.stdout = self._tee.terminal
        self.load_end = machine_load()
        self.seconds = time.perf_counter() - self._clock
        output = self._tee.kept.getvalue() if self._tee is not None else ""
        failed = None if exc_type is None else f"{exc_type.__name__}: {exc}"
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        kept = RESULTS_DIR / f"{self.name}-{stamp}.md"
        for again in range(2, 1000):  # two runs in one second keep both entries
            if not kept.exists():
                break
            kept = RESULTS_DIR / f"{self.name}-{stamp}-{again}.md"
        kept.write_text(self.entry(output, failed, full=True), encoding="utf-8")
        print(f"{self.name}: entry written to {_relative(kept)}")
        if self.record and failed is None:
            _append(self.results_file, self.entry(output, None))
            print(f"{self.name}: entry appended to {_relative(self.results_file)}")
        elif self.record:
            print(f"{self.name}: the run failed, nothing appended to {_relative(self.results_file)}")
        return False

    def entry(self, output: str, failed: str | None = None, full: bool = False) -> str:
        """The Markdown entry: a dated heading, the provenance, then the result (Markdown, from
        `result`) or what was printed (as text); `full` adds what was printed in any case."""
        minutes, seconds = divmod(round(self.seconds), 60)
        lines = [
            f"## {self.started:%Y-%m-%d %H:%M} UTC: `{self.command}`",
            "",
            f"- Commit: `{self.commit}`",
            "- Libraries: " + ", ".join(f"{label} {version}" for label, version in self.libraries.items()),
            "- Servers: " + ("; ".join(self.servers) if self.servers else "none"),
            f"- Machine: load average (1 / 5 / 15 min) {_load(self.load_start)} at the start, "
            f"{_load(self.load_end)} at the end; {minutes} min {seconds} s wall",
        ]
        if failed:
            lines.append(f"- **Did not finish:** {failed}")
        lines.append("")
        if self._result is not None:
            lines += [self._result.rstrip(), ""]
        elif not self.capture:
            lines += ["No result: the run did not get that far.", ""]
        if self.capture and (self._result is None or full):
            if self._result is not None:
                lines += ["Everything printed:", ""]
            lines += ["```text", output.rstrip(), "```", ""]
        return "\n".join(lines)


def _append(path: Path, entry: str) -> None:
    """Add `entry` at the end of `path`, after a blank line; never rewrites what is there."""
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    with path.open("a", encoding="utf-8") as out:
        if before and not before.endswith("\n"):
            out.write("\n")
        if before:
            out.write("\n")
        out.write(entry)


def _relative(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
