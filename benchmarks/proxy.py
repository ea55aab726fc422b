"""``aumai-chaos proxy``: what a client pays for going through it when no fault fires.

The proxy runs as its own process (``python -m aumai_chaos proxy``, an experiment with no
fault), in front of ``ProviderServer`` on loopback; the client is ``httpx`` with keep-alive.
Rounds interleave a direct request, a proxied one and one through a bare passthrough on the
proxy's own stack (``_bare_proxy``: uvicorn with the same protocol and event loop, httptools on
uvloop when installed, and the same upstream client, with nothing else of ours: the floor of
what a proxy on those parts can cost), in a shuffled order, so the machine's drifts hit all
three alike.

- added latency: p50 of a non-streamed chat completion through the proxy minus direct;
- time to first byte of a streamed one (request sent to the first event read), the same way;
- the proxy process's CPU time per request (from /proc), which a loaded machine disturbs
  less than the wall-clock rows;
- throughput: requests a second with 4 client threads for a few seconds, direct and proxied
  (the 2-core machine runs the client, the proxy and the server at once: the ratio says how
  much of it the proxy takes).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .harness import SEED, Budget, Row, percentile

__all__ = ["run"]

SECTION = "Proxy"
ADDED_BUDGET = Budget(1.0, "p50 ≤ direct + 1 ms", ratio=False)
TTFB_BUDGET = Budget(1.0, "p50 ≤ direct + 1 ms", ratio=False)
EXPERIMENT = "experiment_id: bench\nname: bench\nduration_seconds: 3600\nfaults: []\n"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def _start_proxy(
    upstream: str, folder: Path, bare: bool = False
) -> tuple[subprocess.Popen[str], str]:
    exp = folder / "bench.yaml"
    exp.write_text(EXPERIMENT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    ours = ["-m", "aumai_chaos", "proxy", "-e", str(exp), "-u", upstream]
    process = subprocess.Popen(
        [sys.executable, *(["-m", "benchmarks._bare_proxy", upstream] if bare else ours)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        match = _LISTENING.search(line)
        if match:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, match.group(1)
    process.kill()
    raise RuntimeError("the proxy did not start")


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid`` so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(client: Any, url: str, body: dict[str, Any], stream: bool) -> float:
    """Milliseconds to the whole response, or to the first event of a stream."""
    t0 = time.perf_counter()
    if not stream:
        client.post(url, json=body).read()
        return (time.perf_counter() - t0) * 1000
    with client.stream("POST", url, json=body) as response:
        chunks = response.iter_raw()
        next(chunks)
        first = (time.perf_counter() - t0) * 1000
        for _chunk in chunks:
            pass
    return first


def _throughput(url: str, body: dict[str, Any], seconds: float) -> float:
    import httpx

    count = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            done = 0
            while time.monotonic() < stop:
                client.post(url, json=body).read()
                done += 1
            with lock:
                count[0] += done

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count[0] / (time.monotonic() - t0)


def _stack_name() -> str:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from aumai_chaos.proxy._server import stack

    return "h11, asyncio" if stack()[0] is H11Protocol else "httptools, uvloop"


def run(quick: bool = False) -> list[Row]:
    import httpx

    from aumai_chaos.testing import ProviderServer, TextReply

    rounds = 30 if quick else 400
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    stream_body = {**body, "stream": True}
    rows: list[Row] = []
    floor_name = f"bare passthrough on the same stack ({_stack_name()})"
    text = " ".join(f"w{i}" for i in range(20))
    with (
        ProviderServer(responder=lambda _req: TextReply(text)) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        process, proxy_url = _start_proxy(server.url, Path(folder))
        bare, bare_url = _start_proxy(server.url, Path(folder), bare=True)
        try:
            targets = {"direct": server.url, "proxy": proxy_url, "bare": bare_url}
            clients = {k: httpx.Client(timeout=30) for k in targets}
            samples: dict[tuple[str, bool], list[float]] = {}
            for k, base in targets.items():  # warm the connections
                for s in (False, True):
                    _timed(clients[k], base + "/v1/chat/completions", stream_body if s else body, s)
            cpu0 = {k: _cpu_seconds(p.pid) for k, p in (("proxy", process), ("bare", bare))}
            shuffle = random.Random(SEED)
            for _ in range(rounds):
                order = list(targets)
                shuffle.shuffle(order)
                for stream in (False, True):
                    for k in order:
                        url = targets[k] + "/v1/chat/completions"
                        ms = _timed(clients[k], url, stream_body if stream else body, stream)
                        samples.setdefault((k, stream), []).append(ms)
            cpu1 = {k: _cpu_seconds(p.pid) for k, p in (("proxy", process), ("bare", bare))}
            for stream, label, budget in (
                (False, "added latency, chat completion, no fault", ADDED_BUDGET),
                (True, "added time to first byte, streamed, no fault", TTFB_BUDGET),
            ):
                direct = percentile(samples[("direct", stream)], 50)
                proxied = percentile(samples[("proxy", stream)], 50)
                floor = percentile(samples[("bare", stream)], 50)
                p95 = percentile(samples[("proxy", stream)], 95) - percentile(
                    samples[("direct", stream)], 95
                )
                rows.append(
                    Row(
                        SECTION,
                        label,
                        proxied - direct,
                        "ms",
                        f"p50 direct {direct:.2f} ms, proxied {proxied:.2f} ms, {floor_name} "
                        f"{floor:.2f} ms; p95 +{p95:.2f} ms ({rounds} rounds)",
                        budget=budget,
                    )
                )
            cpu = {
                k: (cpu1[k] - cpu0[k]) * 1000 / (2 * rounds)  # type: ignore[operator]
                for k in cpu0
                if cpu0[k] is not None and cpu1[k] is not None
            }
            if len(cpu) == 2:
                rows.append(
                    Row(
                        SECTION,
                        "proxy CPU per request (the proxy process's own time), no fault",
                        cpu["proxy"],
                        "ms",
                        f"user + system, /proc; {floor_name} {cpu['bare']:.2f} ms",
                        ratio=cpu["proxy"] / cpu["bare"] if cpu["bare"] else None,
                        floor="bare passthrough",
                    )
                )
            for c in clients.values():
                c.close()
            seconds = 1.0 if quick else 5.0
            direct_rate = _throughput(server.url + "/v1/chat/completions", body, seconds)
            proxy_rate = _throughput(proxy_url + "/v1/chat/completions", body, seconds)
            bare_rate = _throughput(bare_url + "/v1/chat/completions", body, seconds)
            rows.append(
                Row(
                    SECTION,
                    "throughput, 4 client threads, no fault",
                    proxy_rate,
                    "req/s",
                    f"direct {direct_rate:.0f} req/s, bare passthrough {bare_rate:.0f} req/s "
                    "(client, proxy and server share the cores)",
                    ratio=proxy_rate / direct_rate if direct_rate else None,
                    floor="direct",
                )
            )
        finally:
            for p in (process, bare):
                p.terminate()
                p.wait(30)
    return rows
