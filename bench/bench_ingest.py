"""Ingest benchmarks: prints the figures the ingest issue asks for.

    .venv/bin/python bench/bench_ingest.py [--gb 1.0] [--files 10000] [--appends 40] [--no-bulk]
        [--only cold|idle|latency|wal|ceiling]

1. cold ingest of a generated corpus (>= 1 GB, with one 50 MB line): MB/s, lines/s, peak RSS
   (a bulk load, see ingestor/bulk.py; ``--no-bulk``: every index kept current)
2. a pass with nothing new over 10,000 files: seconds
3. append-to-visible latency in watch mode: p50/p95 over N appends
4. the SQLite WAL's largest size while a reader polls during a bulk ingest
5. this machine's floor for the same corpus, to read the figure of 1 against: reading the bytes
   only; reading and ``orjson.loads`` of each line; and those plus a keyed four-column insert per
   line (the issue's "read, parse and insert", with no accounting rule at all)

Corpora are cached under ``bench-data/`` (git-ignored). Each ingest runs in its own process so
peak memory is that process's own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-data"
EXE = str(Path(sys.executable).parent / "agentbox-telemetry")
LAST_CPU = 0.0  # CPU seconds (user + system) of the last ingest process


def corpus(gb: float) -> Path:
    """The cached corpus of ``gb`` GB, generated first if missing. Generated in a child process:
    a child forked from a large parent inherits its peak RSS (Linux keeps ``ru_maxrss`` across
    ``exec``), so this process stays small for the ingest figures."""
    out = DATA / f"corpus-{gb:g}gb"
    if not (out / ".done").exists():
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        code = (
            "import sys; from pathlib import Path; "
            "from ingestor.demo import DemoOptions, generate; "
            "exp = generate(Path(sys.argv[1]), DemoOptions(seed=11, "
            "target_bytes=int(float(sys.argv[2]) * 1e9), big_line_bytes=50_000_000)); "
            "print(exp.bytes_written)"
        )
        r = subprocess.run(
            [sys.executable, "-c", code, str(out), str(gb)],
            check=True,
            capture_output=True,
            text=True,
        )
        written = int(r.stdout.split()[-1])
        (out / ".done").write_text(str(written))
        print(f"generated {written / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
    return out


def ingest(db: Path, source: Path, extra: tuple[str, ...] = ()) -> tuple[float, str, int]:
    """Run one ingest process; returns (seconds, its closing line, its peak RSS in KB)."""
    global LAST_CPU
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [EXE, "ingest", "--db", f"sqlite:///{db}", "--source", str(source), "-q", *extra],
            stdout=out,
            stderr=err,
        )
        # wait4 gives this child's own usage (RUSAGE_CHILDREN is the largest of every child
        # this process ever waited for, the corpus generator's included)
        _pid, status, ru = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"ingest failed ({proc.returncode}): {err.read().strip()}")
        LAST_CPU = ru.ru_utime + ru.ru_stime
        return secs, out.read().strip().splitlines()[-1], ru.ru_maxrss


def bench_cold(gb: float, extra: tuple[str, ...] = ()) -> None:
    src = corpus(gb)
    size = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    db = DATA / "cold.sqlite"
    for p in DATA.glob("cold.sqlite*"):
        p.unlink()
    subprocess.run(
        [EXE, "db", "upgrade", "--db", f"sqlite:///{db}"], check=True, capture_output=True
    )
    secs, line, peak_kb = ingest(db, src, extra)
    lines = int(line.split(" lines")[0].split(", ")[-1].replace(",", ""))
    print(
        f"cold ingest: {size / 1e6:.0f} MB, {lines:,} lines in {secs:.1f} s (process total) "
        f"= {size / 1e6 / secs:.1f} MB/s, {lines / secs:,.0f} lines/s; peak RSS "
        f"{peak_kb / 1024:.0f} MB; CPU {LAST_CPU:.1f} s = {size / 1e6 / LAST_CPU:.1f} MB per "
        "CPU-second (what one core gives when the machine is busy)"
    )
    print(f"  ingest said: {line}")


def bench_ceiling(gb: float) -> None:
    """What this machine does on the same files with no product code (see the docstring)."""
    import orjson

    src = corpus(gb)
    files = sorted(p for p in src.rglob("*.jsonl*") if p.is_file() and p.suffix != ".zst")
    size = sum(p.stat().st_size for p in files)

    def read(parse: bool, insert: bool) -> float:
        db = DATA / "ceiling.sqlite"
        for p in DATA.glob("ceiling.sqlite*"):
            p.unlink()
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE m (ts TEXT, id TEXT, type TEXT, role TEXT, PRIMARY KEY (ts, id))")
        sql = "INSERT INTO m VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
        rows: list[tuple[object, ...]] = []
        t = time.perf_counter()
        for p in files:
            with open(p, "rb") as fh:
                for line in fh:
                    if not parse:
                        continue
                    try:
                        o = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if not insert or type(o) is not dict:
                        continue
                    m = o.get("message")
                    role = m.get("role") if type(m) is dict else None
                    rows.append((o.get("timestamp"), o.get("id"), o.get("type"), role))
                    if len(rows) >= 5000:
                        con.execute("BEGIN")
                        con.executemany(sql, rows)
                        con.execute("COMMIT")
                        rows = []
        con.execute("BEGIN")
        con.executemany(sql, rows)
        con.execute("COMMIT")
        con.close()
        return time.perf_counter() - t

    for label, parse, insert in (
        ("read only", False, False),
        ("read + orjson.loads", True, False),
        ("read + orjson.loads + keyed 4-column insert", True, True),
    ):
        secs = read(parse, insert)
        print(f"floor, {label}: {size / 1e6:.0f} MB in {secs:.1f} s = {size / 1e6 / secs:.0f} MB/s")


def bench_idle(files: int) -> None:
    src = DATA / f"many-{files}"
    if not (src / ".done").exists():
        shutil.rmtree(src, ignore_errors=True)
        d = src / "agents" / "main" / "sessions"
        d.mkdir(parents=True)
        sample = (ROOT / "tests" / "data" / "openclaw-sample.jsonl").read_text().splitlines()
        for i in range(files):
            sid = f"00000000-0000-4000-8000-{i:012d}"
            body = [sample[0].replace("4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10", sid)]
            body += [ln.replace('"id":"', f'"id":"{i:06x}') for ln in sample[1:]]
            (d / f"{sid}.jsonl").write_text("\n".join(body) + "\n")
        (src / ".done").write_text("ok")
    db = DATA / "idle.sqlite"
    for p in DATA.glob("idle.sqlite*"):
        p.unlink()
    secs1, _line1, _ = ingest(db, src)
    # the idle pass itself, timed inside one process (excludes interpreter start-up)
    code = (
        "import time,sys;from pathlib import Path;from ingestor.config import IngestSettings;"
        "from ingestor.daemon import build;"
        f"e,p=build(IngestSettings(db_url='sqlite:///{db}',sources=(Path('{src}'),),"
        "host_id='bench'));p.run_pass([Path(sys.argv[1])]);t=time.perf_counter();"
        "s=p.run_pass([Path(sys.argv[1])]);print(time.perf_counter()-t, s.files, s.lines)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(src)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TELEMETRY_HOST_ID": "bench"},
    ).stdout
    secs, nfiles, nlines = out.split()
    print(
        f"idle pass: {nfiles} files, {nlines} new lines in {float(secs) * 1000:.0f} ms "
        f"(first ingest of them: {secs1:.1f} s)"
    )


def bench_latency(n: int) -> None:
    src = DATA / "latency"
    shutil.rmtree(src, ignore_errors=True)
    d = src / "agents" / "main" / "sessions"
    d.mkdir(parents=True)
    sample = (ROOT / "tests" / "data" / "openclaw-sample.jsonl").read_text().splitlines()
    f = d / "4f6b2c1e-8d3a-4b7e-9c21-5a0f3e7d9b10.jsonl"
    f.write_text("\n".join(sample) + "\n")
    db = DATA / "latency.sqlite"
    for p in DATA.glob("latency.sqlite*"):
        p.unlink()
    proc = subprocess.Popen(
        [
            EXE,
            "ingest",
            "--watch",
            "--db",
            f"sqlite:///{db}",
            "--source",
            str(src),
            "-q",
            "--rescan",
            "30",
        ],
        stderr=subprocess.DEVNULL,
    )
    template = sample[7]  # an assistant call
    lat = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _count(db) >= 8:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        for i in range(n):
            line = template.replace('"id":"f6a7b8c9"', f'"id":"b{i:07x}"')
            t0 = time.perf_counter()
            with f.open("a") as fh:
                fh.write(line + "\n")
            want = 9 + i
            while _count(db) < want:
                if time.perf_counter() - t0 > 10:
                    raise SystemExit("append not visible after 10 s")
                time.sleep(0.005)
            lat.append(time.perf_counter() - t0)
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
    lat.sort()
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(
        f"append to visible (watch mode, {n} appends): p50 {statistics.median(lat) * 1000:.0f}"
        f" ms, p95 {p95 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )


def _count(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(con.execute("SELECT COUNT(*) FROM usage").fetchone()[0])
    finally:
        con.close()


def bench_wal(gb: float) -> None:
    src = corpus(gb)
    db = DATA / "wal.sqlite"
    for p in DATA.glob("wal.sqlite*"):
        p.unlink()
    subprocess.run(
        [EXE, "db", "upgrade", "--db", f"sqlite:///{db}"], check=True, capture_output=True
    )
    wal = Path(str(db) + "-wal")
    stop = threading.Event()
    peak = [0]
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                con.execute("SELECT COUNT(*), SUM(cost) FROM usage_hourly").fetchone()
                con.close()
                reads[0] += 1
            except sqlite3.Error:
                pass
            if wal.exists():
                peak[0] = max(peak[0], wal.stat().st_size)
            time.sleep(0.1)

    t = threading.Thread(target=reader)
    t.start()
    try:
        ingest(db, src)
    finally:
        stop.set()
        t.join()
    print(
        f"WAL while a reader polls every 100 ms during the bulk ingest: max "
        f"{peak[0] / 1e6:.1f} MB ({reads[0]} reads)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--appends", type=int, default=40)
    ap.add_argument("--only", choices=["cold", "idle", "latency", "wal", "ceiling"])
    ap.add_argument(
        "--no-bulk",
        action="store_true",
        help="cold ingest with every index kept current (--bulk-min-mb -1)",
    )
    a = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    if a.only in (None, "cold"):
        bench_cold(a.gb, ("--bulk-min-mb", "-1") if a.no_bulk else ())
    if a.only in (None, "idle"):
        bench_idle(a.files)
    if a.only in (None, "latency"):
        bench_latency(a.appends)
    if a.only in (None, "wal"):
        bench_wal(a.gb)
    if a.only in (None, "ceiling"):
        bench_ceiling(a.gb)


if __name__ == "__main__":
    main()
