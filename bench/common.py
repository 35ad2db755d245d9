"""What the benchmarks share: a throwaway PostgreSQL database of their own, options, percentiles, HTTP clients."""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import subprocess
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import make_url


def fresh_database(url: str) -> str:
    """Drop and create the database named in url (never the application's: each benchmark names its own)."""
    name = make_url(url).database
    admin = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url


def bench_parser(doc: str | None, database: str, redis_db: int) -> argparse.ArgumentParser:
    """The options every service benchmark has: its own PostgreSQL database and Redis database."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"postgresql://postgres@127.0.0.1:5432/{database}")
    parser.add_argument("--redis-url", default=f"redis://127.0.0.1:6379/{redis_db}")
    return parser


def processes_cpu(processes: Iterable[psutil.Process]) -> float:
    """User + system seconds of these processes together (e.g. a web tier's workers: what load inflates least)."""
    return sum(sum(process.cpu_times()[:2]) for process in processes)


def print_table(columns: list[str], rows: list[str]) -> None:
    """A Markdown table of already formatted rows under these column names, as RESULTS.md keeps them."""
    print("\n| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    print("\n".join(rows))


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def post_in_sequence(job: tuple[str, dict[str, str], int, list[bytes]]) -> list[float]:
    """One keep-alive client POSTing bodies to url in turn; each request's latency in seconds.

    Fails loudly on any status but the expected one, so a benchmark never times error replies."""
    url, headers, expected_status, bodies = job
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    latencies = []
    for body in bodies:
        started = time.perf_counter()
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != expected_status:
            raise RuntimeError(f"unexpected {response.status}: {payload[:300]!r}")
        latencies.append(time.perf_counter() - started)
    connection.close()
    return latencies


def post_from_clients(
    url: str, headers: dict[str, str], expected_status: int, bodies: list[bytes], clients: int
) -> tuple[float, list[float]]:
    """Spread bodies over `clients` client processes (one keep-alive connection each); wall seconds, latencies."""
    shares = [bodies[i::clients] for i in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        started = time.perf_counter()
        results = pool.map(post_in_sequence, [(url, headers, expected_status, share) for share in shares])
        wall = time.perf_counter() - started
    return wall, [latency for result in results for latency in result]


def sample_ms(call: Callable[[], object], runs: int, warm_up: int = 1) -> list[float]:
    """Milliseconds of each of `runs` calls, after `warm_up` calls that are not timed."""
    for _ in range(warm_up):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def loaded_database_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options of a benchmark that measures a database loaded elsewhere (bench/big_load.py): both URLs,
    required, since such a script writes to the database it is pointed at."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    return parser


def alternate_trees(trees: list[str], rounds: int, script: str, child_args: list[str]) -> dict[str, list[dict]]:
    """Run `script --child --trees TREE *child_args` from each tree (its own virtualenv and code) in turn, `rounds`
    times, so base and branch see the same moments of a shared machine; per tree, the JSON each run printed last."""
    figures: dict[str, list[dict]] = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            command = [f"{tree}/.venv/bin/python", script, "--child", "--trees", tree, *child_args]
            result = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=True)
            figures[tree].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(tree, figures[tree][-1], flush=True)
    return figures
