"""Tests of experiments: models, the scheduler, targeting, workloads, the observer, telemetry."""
