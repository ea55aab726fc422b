"""``import aumai_chaos`` imports the OpenTelemetry API only; the SDK comes with the first
experiment (issue 12). Checked in a fresh interpreter, where nothing else imported it."""

from __future__ import annotations

from tests.helpers import run_python


def test_import_aumai_chaos_does_not_import_the_sdk_nor_client_libraries() -> None:
    proc = run_python(
        """
        import sys
        import aumai_chaos
        from aumai_chaos import FaultConfig, chaos_monkey, FaultInjector

        @chaos_monkey(fault_type="latency", duration_ms=1)
        def tool():
            return 1

        tool()
        FaultInjector().inject(FaultConfig(fault_type="latency", duration_ms=1))
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")
                        or m.split(".")[0] in ("httpx", "openai", "anthropic"))
        print("loaded:", loaded)
        assert not loaded, loaded
        assert "opentelemetry.trace" in sys.modules
        aumai_chaos.ExperimentScheduler  # first use imports the SDK
        assert "opentelemetry.sdk.trace" in sys.modules
        with aumai_chaos.experiment(faults=[]):
            tool()
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok" in proc.stdout
