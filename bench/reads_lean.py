"""bench/reads.py's HTTP reads timed by load generators written in C: `wrk` for the API and `pgbench` for the
plain-SQL floors, on a database bench/reads.py built (--reuse) or on an existing one (read-only).

Why: bench/reads.py's clients are Python threads in one process (requests, psycopg). At 8 clients they spend
1.2-2.0 ms of CPU a call under one GIL, on the same two cores as the server, so its 8-client p95 measures the
load generator's queue as much as the server (its raw-SQL floor alone had an 8-client p95 of 21-33 ms for a
0.3 ms query). wrk and pgbench spend a few microseconds a call. Each case runs for --seconds with 1 and with 8
connections (8 clients: `wrk -t 2 -c 8`; pgbench `-c 8 -j 2 -M prepared`), the API first, then its floor; printed:
p50 / p95 / p99 ms of both, the p95 ratio, and the web tier's CPU per call (its worker processes' user + system).
Beside the events page: its bare endpoint (bench/floor_app.py: the page query alone behind the same HTTP stack),
and the HTTP floor (an authenticated request that reads nothing; its SQL floor is `SELECT 1`).

Usage: .venv/bin/python bench/reads.py --build-only --events 100000 --database-url D --redis-url R  (once), then
       .venv/bin/python bench/reads_lean.py --database-url D --redis-url R [--only "section analytics"] [--seconds 8]
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_parser, percentile, print_table, processes_cpu  # noqa: E402
from bench.read_database import HEAVY, measured_database  # noqa: E402
from bench.reads import BARE_PAGE, EVENTS_PAGE, MEMBERS, SUMMARIES, WEB_APP  # noqa: E402
from bench.school_seed import SECRET  # noqa: E402
from bench.web_process import start_web, stop_web  # noqa: E402

# wrk's report of the run: latency percentiles in microseconds, requests, and responses that were not 2xx/3xx
WRK_REPORT = """done = function(summary, latency, requests)
  io.write(string.format("LEAN %d %d %d %d %d\\n", latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.requests, summary.errors.status))
end
"""


def lean_cases(known: dict) -> list[tuple[str, str, tuple[str, str], str, dict]]:
    """(name, API path, (token subject, role), floor SQL, its values): the single-GET reads of bench/reads.py."""
    admin, educator = (known["service"], known["service_role"]), ("bench-educator", "educator")
    typical_id, typical = known["typical"]
    page = f"/api/v1/learners/{typical}/events?limit=100"
    cases = [(f"events page of 100 (typical, {known['typical_events']} events)", page, admin, EVENTS_PAGE,
              {"learner": typical_id})]  # fmt: skip
    if "heavy" not in known:
        return cases
    sections = known["sections"]
    return cases + [
        ("events page of 100 (10k-event learner)", f"/api/v1/learners/{HEAVY}/events?limit=100", admin, EVENTS_PAGE,
         {"learner": known["heavy"]}),
        ("bare endpoint: the page query alone (10k-event learner)", f"{BARE_PAGE}/{known['heavy']}/events", admin,
         EVENTS_PAGE, {"learner": known["heavy"]}),
        ("HTTP floor: an authenticated request that reads nothing", "/bench/floor/nothing", admin, "SELECT 1", {}),
        ("section analytics (200 learners)", "/api/v1/sections/bench-sec-1/analytics", educator, MEMBERS,
         {"sections": sections[:1]}),
        ("course analytics (5 sections, 1,000 learners)", "/api/v1/courses/bench-algebra/analytics", educator, MEMBERS,
         {"sections": sections}),
        ("section summary", "/api/v1/sections/bench-sec-1/summary", educator, SUMMARIES, {"sections": sections[:1]}),
    ]  # fmt: skip


def run_wrk(url: str, token: str, connections: int, seconds: int) -> tuple[list[float], int]:
    """wrk with `connections` keep-alive connections for `seconds`; ([p50, p95, p99] ms, requests). Fails loudly
    on any response that is not 2xx, so a refused read is never timed."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    threads = min(2, connections)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "-s", script.name]
    command += ["-H", f"Authorization: Bearer {token}", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    p50, p95, p99, requests, refused = (int(v) for v in output.split("LEAN ")[1].split()[:5])
    if refused or not requests:
        raise RuntimeError(f"{url}: {refused} of {requests} responses were not 2xx")
    return [p50 / 1000, p95 / 1000, p99 / 1000], requests


def run_pgbench(dsn: str, sql: str, values: dict, clients: int, seconds: int) -> list[float]:
    """pgbench running the floor query (its values written in) on `clients` connections; [p50, p95, p99] ms from
    its per-transaction log."""
    with psycopg.connect(dsn) as connection:
        statement = psycopg.ClientCursor(connection).mogrify(sql, values)
    url = make_url(dsn)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "floor.sql")
        script.write_text(statement.replace("\n", " ") + ";\n")
        command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(2, clients)), "-T"]
        command += [str(seconds), "-f", str(script), "-l", f"--log-prefix={folder}/log", "-h", url.host or "127.0.0.1"]
        command += ["-p", str(url.port or 5432), "-U", url.username or "postgres", url.database or ""]
        subprocess.run(command, capture_output=True, text=True, check=True)
        latencies = [int(line.split()[2]) / 1000 for path in glob.glob(f"{folder}/log*") for line in open(path)]
    return [percentile(latencies, q) for q in (50, 95, 99)]


def measure_lean(base: str, dsn: str, case: tuple, seconds: int, workers: list) -> list[str]:
    """Table rows for one case: 1 and 8 connections, API (wrk) and floor (pgbench), web CPU per call."""
    from api.auth.tokens import issue_token  # noqa: PLC0415

    name, path, (subject, role), sql, values = case
    token = issue_token(SECRET, subject, role, 7200)[0]
    rows = []
    for clients in (1, 8):
        before = processes_cpu(workers)
        api, calls = run_wrk(base + path, token, clients, seconds)
        cpu = (processes_cpu(workers) - before) * 1000 / calls
        floor = run_pgbench(dsn, sql, values, clients, seconds)
        ratio = f"{api[1] / floor[1]:.1f}x" if floor[1] else "-"  # pgbench logs 0 us for most ~20 us transactions
        rows.append(
            f"| {name} | {clients} | {' / '.join(f'{v:.1f}' for v in api)} | {' / '.join(f'{v:.2f}' for v in floor)} "
            f"| {ratio} | {cpu:.2f} | {calls:,} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = bench_parser(__doc__, "bench_reads", 2)
    parser.set_defaults(redis_url="redis://127.0.0.1:6395/2")
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk and pgbench run")
    parser.add_argument("--web-processes", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--only", default="", help="comma-separated substrings: measure only the cases named so")
    parser.add_argument("--existing", action="store_true", help="a database built elsewhere: read it read-only")
    args = parser.parse_args()
    url, dsn, known = measured_database(args.database_url, args.existing)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    print(f"load average before: {os.getloadavg()}", flush=True)
    web, port = start_web(url, args.redis_url, SECRET, "/tmp/bench_reads_lean_web.log", args.web_processes, app=WEB_APP)
    rows = []
    try:
        for case in lean_cases(known):
            if not wanted or any(w in case[0] for w in wanted):
                rows += measure_lean(f"http://127.0.0.1:{port}", dsn, case, args.seconds, web.children())
    finally:
        stop_web(web)
    print(f"load average after: {os.getloadavg()}")
    columns = [f"read [{args.web_processes} web]", "clients", "API (wrk) p50 / p95 / p99 ms"]
    columns += ["floor (pgbench) p50 / p95 / p99 ms", "p95 ratio", "web CPU ms/call", "calls"]
    print_table(columns, rows)


if __name__ == "__main__":
    main()
