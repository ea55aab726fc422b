"""A client that goes away mid-stream takes the upstream request with it."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.proxy.support import NO_FAULT, proxy, wait_for, write_experiment
from tests.proxy.upstream import fixed_upstream


def test_a_client_disconnect_ends_the_upstream_stream(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path, NO_FAULT)
    with fixed_upstream() as upstream, proxy(experiment, upstream.url) as run:
        with httpx.Client(timeout=10) as client, client.stream("GET", run.url + "/forever") as r:
            raw = r.iter_raw()
            got = b""
            while got.count(b"\n\n") < 3:
                got += next(raw)
            assert wait_for(lambda: upstream.streaming == 1)
        # The client closed its connection: the proxy closes the upstream one, whose next
        # write fails. Without that the upstream would stream for 40 s more.
        assert wait_for(upstream.stream_ended.is_set, timeout=10)
        assert upstream.streaming == 0
        assert httpx.get(run.url + "/v1/json", timeout=10).status_code == 200  # still serving
