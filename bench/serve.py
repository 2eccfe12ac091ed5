"""Benchmark `griefguard serve` on 127.0.0.1: requests/s and latency under bounded load, and memory over a run.

    python bench/serve.py              # writes bench/results/serve.md and prints it
    python bench/serve.py --quick      # shorter phases, for a smoke test

For one reply per request and for batches of 100, at concurrency 1, 8 and 32, each phase sends requests until
a count or a time limit is reached (whichever comes first) and reports requests/s, replies/s, p50 and p99
latency as the client sees it, and errors. Every request carries different replies (from data/). The server's
own time for a batch of 100 is the median of its access-log latencies. Then a 60-second run of single replies
at concurrency 32 compares the server's resident memory before and after.

The load comes from wrk (Debian's `wrk` package) when it is installed, else from an asyncio + httpx2 client
in this process; either runs on the same 2 cores as the server, so the figures are a floor (the Python client
takes a good part of the CPU itself).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine  # noqa: E402


def replies() -> list[str]:
    texts = []
    for path in sorted((ROOT / "data").rglob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            texts.extend(row["text"] for row in csv.DictReader(handle))
    random.Random(0).shuffle(texts)
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) / 1024


async def phase(base: str, bodies: list[dict], concurrency: int, limit: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    sent = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def user() -> None:
            nonlocal sent, errors
            while sent < limit and time.perf_counter() < stop:
                body = bodies[sent % len(bodies)]
                sent += 1
                start = time.perf_counter()
                try:
                    response = await client.post("/v1/classify", json=body)
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "seconds": elapsed,
        "rps": n / elapsed,
        "p50": 1000 * latencies[n // 2],
        "p99": 1000 * latencies[min(n - 1, int(0.99 * n))],
        "errors": errors,
    }


_WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/v1/classify", {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def wrk_phase(base: str, bodies: list[dict], concurrency: int, limit: int, seconds: float, work: Path) -> dict:
    """One phase driven by wrk: requests/s and latency percentiles from its report."""
    script = work / "load.lua"
    encoded = ", ".join(_lua_string(json.dumps(b, ensure_ascii=False)) for b in bodies)
    script.write_text(_WRK_SCRIPT % encoded, encoding="utf-8")  # wrk bounds a phase by time only
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, int(seconds))}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        value = re.search(rf"^\s*{label}%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M)
        if value is None:
            return float("nan")
        number, unit = float(value.group(1)), value.group(2)
        return number / 1000 if unit == "us" else number * 1000 if unit == "s" else number

    summary = re.search(r"([0-9]+) requests in ([0-9.]+)(ms|s|m)\b", out)
    if summary is None:
        raise SystemExit(f"could not read wrk's report:\n{out}")
    requests = int(summary.group(1))
    elapsed = float(summary.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[summary.group(3)]
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", out)
    socket_errors = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", out)
    failures = int(errors.group(1)) if errors else 0
    if socket_errors:
        failures += sum(int(x) for x in socket_errors.groups())
    return {
        "requests": requests,
        "seconds": elapsed,
        "rps": requests / elapsed,
        "p50": ms("50"),
        "p99": ms("99"),
        "errors": failures,
    }


def server_batch_ms(log: Path, marker: str) -> float:
    """Median server-side latency of the access-log lines after `marker` for batches of 100 replies."""
    text = log.read_text(encoding="utf-8", errors="replace")
    text = text[text.index(marker) :] if marker in text else text
    values = [float(m) for m in re.findall(r" 200 100 replies ([0-9.]+) ms", text)]
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=4, help="the server's scoring threads")
    args = parser.parse_args()
    texts = replies()
    use_wrk = shutil.which("wrk") is not None
    work = Path(tempfile.mkdtemp(prefix="griefguard-serve-bench."))

    def load(bodies: list[dict], concurrency: int, limit: int, seconds: float) -> dict:
        if use_wrk:
            return wrk_phase(base + "/v1/classify", bodies, concurrency, limit, seconds, work)
        return asyncio.run(phase(base, bodies, concurrency, limit, seconds))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = RESULTS / "serve-server.log"
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "griefguard", "serve", "--port", str(port), "--threads", str(args.threads)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        singles = [{"text": t} for t in texts[:5000]]
        batches = [{"texts": texts[i : i + 100]} for i in range(0, 20000, 100)]
        count, seconds = (1000, 5.0) if args.quick else (20000, 20.0)
        rows = []
        load(singles, 4, 200, 3.0)  # warm up
        for concurrency in (1, 8, 32):
            result = load(singles, concurrency, count, seconds)
            rows.append(("1 reply", concurrency, result, None))
        for concurrency in (1, 8, 32):
            marker = f"-- batches at {concurrency} --"
            with open(log, "a") as handle:
                handle.write(marker + "\n")
            time.sleep(0.2)
            result = load(batches, concurrency, count // 10, seconds)
            rows.append(("100 replies", concurrency, result, server_batch_ms(log, marker)))
        before = rss_mb(server.pid)
        soak = load(singles, 32, 10**9, 15.0 if args.quick else 60.0)
        after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}; server: `griefguard serve --threads {args.threads}` "
        f"(one process); load from {'wrk (time-bounded phases)' if use_wrk else 'an asyncio + httpx2 client'} "
        "on the same machine.",
        "",
        "| request | concurrency | requests | requests/s | replies/s | p50 ms | p99 ms | errors | server ms (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, concurrency, r, server_ms in rows:
        per = 100 if kind == "100 replies" else 1
        lines.append(
            f"| {kind} | {concurrency} | {r['requests']} | {r['rps']:,.0f} | {per * r['rps']:,.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['errors']} | {'-' if server_ms is None else f'{server_ms:.1f}'} |"
        )
    lines += [
        "",
        f"Soak: {soak['requests']:,} single-reply requests at concurrency 32 over {soak['seconds']:.0f} s, "
        f"{soak['errors']} errors, p99 {soak['p99']:.1f} ms; "
        f"server memory {before:.0f} MB before, {after:.0f} MB after.",
        "",
    ]
    report = "\n".join(lines)
    (RESULTS / "serve.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
