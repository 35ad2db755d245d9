"""The events page of 100 against its bare endpoint, interleaved call by call (issue 15 "Reads").

bench/reads.py measures the page, then the raw query, then the bare endpoint (bench/floor_app.py: the page query
alone behind the same authentication, rate limit, request logging and JSON), each phase at its own moments of
a shared machine; a load spike in one phase moves the ratio by more than the page's own cost. Here each client
alternates the two calls (page first on odd calls, bare first on even ones) on the same web process, so both
see the same moments; 1 and 8 clients, for the 10k-event learner and a typical one of a database built by
`bench/reads.py --build-only`. Web CPU per call is the workers' user + system time over both kinds of call.

--existing reads a database built elsewhere (bench/big_load.py's) read-only: its typical learner only.

Usage: .venv/bin/python bench/events_page.py [--database-url ...] [--redis-url ...] [--runs 400] [--web-processes 2,1]
       [--existing]
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.auth.tokens import issue_token  # noqa: E402
from bench.common import bench_parser, percentile, processes_cpu  # noqa: E402
from bench.read_database import HEAVY, measured_database  # noqa: E402
from bench.reads import BARE_PAGE, WEB_APP  # noqa: E402
from bench.school_seed import SECRET  # noqa: E402
from bench.web_process import start_web, stop_web  # noqa: E402

KINDS = ("page", "bare")


def interleaved(base: str, token: str, paths: dict[str, str], clients: int, per: int) -> dict[str, list[float]]:
    """Milliseconds per call of each kind, every client alternating the two `per` times after one warm call."""
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    lock, barrier = threading.Lock(), threading.Barrier(clients)

    def client() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for path in paths.values():
            session.get(base + path, timeout=60).raise_for_status()
        barrier.wait()
        mine: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for i in range(per):
            for kind in KINDS if i % 2 else KINDS[::-1]:
                started = time.perf_counter()
                session.get(base + paths[kind], timeout=60).raise_for_status()
                mine[kind].append(1000 * (time.perf_counter() - started))
        with lock:
            for kind in KINDS:
                samples[kind] += mine[kind]

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def main() -> None:
    parser = bench_parser(__doc__, "bench_reads", 2)
    parser.add_argument("--runs", type=int, default=400, help="calls of each kind by one client (split across 8)")
    parser.add_argument("--web-processes", default="2,1", help="gevent worker counts to measure, in turn")
    parser.add_argument("--existing", action="store_true", help="a database built elsewhere: read it read-only")
    args = parser.parse_args()
    url, _, known = measured_database(args.database_url, args.existing)
    learners = {"typical": known["typical"][::-1]}  # on big_load's database, its learner in the middle of the ids
    if "heavy" in known:
        learners = {"10k-event learner": (HEAVY, known["heavy"]), **learners}
    token = issue_token(SECRET, known["service"], known["service_role"], 7200)[0]
    print(f"load average before: {os.getloadavg()}")
    print("| learner [web] | clients | page p50 / p95 / p99 ms | bare p50 / p95 / p99 ms | p50 ratio | p95 ratio "
          "| web CPU ms/call |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for processes in [int(p) for p in args.web_processes.split(",")]:
        web, port = start_web(
            url, args.redis_url, SECRET, f"/tmp/bench_events_page_{processes}.log", processes, app=WEB_APP
        )
        try:
            for name, (external, pk) in learners.items():
                paths = {"page": f"/api/v1/learners/{external}/events?limit=100", "bare": f"{BARE_PAGE}/{pk}/events"}
                for clients in (1, 8):
                    per = args.runs if clients == 1 else max(20, args.runs // clients)
                    before = processes_cpu(web.children())
                    samples = interleaved(f"http://127.0.0.1:{port}", token, paths, clients, per)
                    cpu = 1000 * (processes_cpu(web.children()) - before) / (2 * (per + 1) * clients)
                    page, bare = ([percentile(samples[k], q) for q in (50, 95, 99)] for k in KINDS)
                    print(f"| {name} [{processes} web] | {clients} | {' / '.join(f'{v:.2f}' for v in page)} "
                          f"| {' / '.join(f'{v:.2f}' for v in bare)} | {page[0] / bare[0]:.2f}x | {page[1] / bare[1]:.2f}x "
                          f"| {cpu:.2f} |", flush=True)  # fmt: skip
        finally:
            stop_web(web)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
