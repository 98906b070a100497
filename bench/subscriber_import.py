"""Benchmark: `gongkai subscribers import` of a 1,000,000-row CSV, then the same file again.

Target: under 60 s on SQLite and on PostgreSQL, with the progress line on stderr; the second
import (nothing to change) must change nothing. The command runs as the real program in a
subprocess (`python -m bot.cli subscribers import FILE --consent … --json`), so the time includes
start-up, migrations, reading and checking every row and the batched upserts.

Usage (from the repository root, virtualenv active):

    PYTHONPATH=. python bench/subscriber_import.py                          # SQLite, 1,000,000 rows
    PYTHONPATH=. python bench/subscriber_import.py --pg postgresql://postgres@127.0.0.1:5432/test
    PYTHONPATH=. python bench/subscriber_import.py --rows 50000

With --pg the script creates a scratch database next to the given one and drops it afterwards.
The CSV has one bad row in 10,000 (a 10-digit number) and one or two topics per row; it is
written once to a temporary directory.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from scratch import scratch_database  # noqa: E402

TOPICS = ("all", "政策文件", "工作动态", "emergency", "政策解读")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("phone,topics,source\n")
        for n in range(rows):
            phone = f"139{n:08d}" if n % 10_000 != 9_999 else f"139{n:07d}"
            topics = TOPICS[n % 5] if n % 3 else f"{TOPICS[n % 5]};{TOPICS[(n + 1) % 5]}"
            f.write(f"{phone},{topics},社区登记\n")


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_import(env: dict[str, str], csv: Path) -> tuple[float, float, dict]:
    """Wall-clock and CPU seconds of one import (the CPU time tells a loaded machine apart)."""
    t0, cpu0 = time.perf_counter(), cpu_of_children()
    out = subprocess.run([sys.executable, "-m", "bot.cli", "subscribers", "import", str(csv),
                          "--consent", "社区登记表，本人签字同意", "--json"],
                         capture_output=True, text=True, env=env)
    seconds, cpu = time.perf_counter() - t0, cpu_of_children() - cpu0
    if out.returncode not in (0, 1):
        print(out.stderr)
        raise SystemExit("the import failed")
    return seconds, cpu, json.loads(out.stdout)


def run_progress_sample(env: dict[str, str], csv: Path) -> str:
    """The same import without --json: the progress line as staff see it in a log."""
    out = subprocess.run([sys.executable, "-m", "bot.cli", "subscribers", "import", str(csv),
                          "--consent", "社区登记表，本人签字同意"], capture_output=True, text=True, env=env)
    return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg", default="", help="admin URL of a PostgreSQL server: use a scratch database there")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="gk-import-bench-"))
    with scratch_database(args.pg, data) as database_url:
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "."), "GONGKAI_USER": "bench",
               "GONGKAI_BOT__DATA_DIR": str(data / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
               "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_CHANNELS__SMS__ENABLED": "true"}
        # only `gongkai run` and `gongkai db upgrade` make a store
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], check=True, capture_output=True, env=env)
        csv = data / "subscribers.csv"
        t0 = time.perf_counter()
        write_csv(csv, args.rows)
        print(f"store: {'PostgreSQL' if args.pg else 'SQLite'}; wrote {args.rows:,} rows "
              f"({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        seconds, cpu, first = run_import(env, csv)
        print(f"first import: {seconds:.1f} s (import process CPU {cpu:.1f} s) — added {first['added']:,}, "
              f"updated {first['updated']:,}, unchanged {first['unchanged']:,}, bad rows {len(first['bad_rows']):,} "
              f"({args.rows / seconds:,.0f} rows/s)")
        seconds, cpu, again = run_import(env, csv)
        print(f"same file again: {seconds:.1f} s (CPU {cpu:.1f} s) — added {again['added']:,}, "
              f"updated {again['updated']:,}, unchanged {again['unchanged']:,}")
        if again["added"] or again["updated"]:
            raise SystemExit("the second import changed something: not idempotent")
        print(f"progress line (stderr, last): {run_progress_sample(env, csv)}")


if __name__ == "__main__":
    main()
