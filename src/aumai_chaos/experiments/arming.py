"""Armed experiments: present in a service before its traffic comes, selected by the traffic.

::

    aumai_chaos.arm("experiments/")          # a ChaosExperiment, a file or a directory of files
    ...                                       # requests whose baggage names an armed id get
    aumai_chaos.disarm("tool-errors")         # its faults; the result is written on disarm

``AUMAI_CHAOS_ARMED=<path>`` arms a file or directory at import and watches it: a change is
picked up within a second (a file added arms, removed disarms, edited re-arms), with no
restart. An armed experiment's faults act only on calls made in a context whose W3C baggage
names its id (the service's own OpenTelemetry server instrumentation puts the caller's baggage
there; :func:`aumai_chaos.propagation.extract` does it for code with none). A request can only
select what was armed here: it never defines or changes a fault.

Each armed experiment expires ``duration_seconds`` after arming (at most a day). On disarm or
expiry its run ends as any run does (span, metrics, verdict) and, when
``AUMAI_CHAOS_RESULTS_DIR`` is set, its result is written there atomically as
``<experiment_id>.<service>.json`` (the service: ``OTEL_SERVICE_NAME``, else ``pid<pid>``).

A file that cannot be read or validated is one log line naming the file and the problem; the
other armed experiments carry on and nothing fires from the bad file.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import tempfile
import threading
import time
import weakref
from pathlib import Path

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import TracerProvider

from aumai_chaos._engine import selection
from aumai_chaos._engine import telemetry as tm
from aumai_chaos._engine.scopes import BaggageScope
from aumai_chaos._version import __version__
from aumai_chaos.errors import ConfigError, ExperimentStateError
from aumai_chaos.experiments._run import ExperimentRun
from aumai_chaos.experiments.files import load_experiment_file
from aumai_chaos.experiments.models import ChaosExperiment, ExperimentResult
from aumai_chaos.experiments.observer import DEFAULT_MAX_OBSERVATIONS

__all__ = [
    "ARMED_ENV",
    "RESULTS_DIR_ENV",
    "arm",
    "arm_from_environment",
    "armed",
    "disarm",
    "stop_watching",
]

ARMED_ENV = "AUMAI_CHAOS_ARMED"
RESULTS_DIR_ENV = "AUMAI_CHAOS_RESULTS_DIR"
#: How often a watched path is looked at: a change is picked up within a second.
WATCH_SECONDS = 0.25
_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
#: Baggage entries ignored in this process (naming no armed experiment, too long, not an id),
#: as an observable counter on the meter provider of every armed experiment.
METRIC_BAGGAGE_IGNORED = "chaos.baggage.ignored"
ATTR_BAGGAGE_REASON = "chaos.baggage.reason"

_log = logging.getLogger("aumai_chaos")


class _Armed:
    """One armed experiment: its run, routed under this object as its scope key."""

    __slots__ = ("expires", "file", "run", "signature")

    def __init__(self, run: ExperimentRun, file: str | None, signature: object) -> None:
        self.run = run
        self.file = file
        self.signature = signature
        self.expires = time.monotonic() + run.experiment.duration_seconds


_lock = threading.RLock()
_armed: dict[str, _Armed] = {}
_watched: dict[str, dict[str, tuple[object, str | None]]] = {}  # path -> file -> (sig, id)
_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None
_observing: weakref.WeakSet[MeterProvider] = weakref.WeakSet()  # providers reporting ignored


def arm(
    source: ChaosExperiment | str | os.PathLike[str],
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> list[str]:
    """Arm an experiment, an experiment file, or every ``.yaml``/``.yml``/``.json`` file of a
    directory; returns the ids armed. A bad file raises :class:`~aumai_chaos.ConfigError`
    (one line per problem); an id already armed raises
    :class:`~aumai_chaos.ExperimentStateError`."""
    if isinstance(source, ChaosExperiment):
        _arm_one(source, None, None, tracer_provider, meter_provider)
        return [source.experiment_id]
    path = Path(source)
    files = _files_of(path) if path.is_dir() else [path]
    configs = [load_experiment_file(f) for f in files]
    for config, file in zip(configs, files, strict=True):
        _arm_one(config, str(file), _signature(file), tracer_provider, meter_provider)
    return [c.experiment_id for c in configs]


def disarm(experiment_id: str) -> ExperimentResult | None:
    """End an armed experiment now: its faults stop, its run ends and its result is written
    (see the module docs). ``None`` when nothing is armed under that id."""
    with _lock:
        entry = _armed.pop(experiment_id, None)
    if entry is None:
        return None
    return _end(entry)


def armed() -> list[str]:
    """The ids of the experiments armed in this process."""
    with _lock:
        return sorted(_armed)


def arm_from_environment() -> None:
    """Arm and watch ``AUMAI_CHAOS_ARMED`` (at import); never raises."""
    path = os.environ.get(ARMED_ENV, "").strip()
    if not path:
        return
    try:
        watch(path)
    except Exception as exc:
        _log.error("%s=%s: %s", ARMED_ENV, path, exc)


def watch(path: str | os.PathLike[str]) -> None:
    """Arm what ``path`` (a file or directory) holds now, and follow its changes."""
    key = os.fspath(path)
    with _lock:
        _watched.setdefault(key, {})
        _rescan(key)
    _ensure_thread()


def stop_watching(timeout: float = 5.0) -> None:
    """Stop following watched paths and stop the expiry thread (armed experiments stay armed
    until disarmed)."""
    global _thread
    with _lock:
        _watched.clear()
        thread, _thread = _thread, None
    if thread is not None:
        _stop.set()
        _wake.set()
        thread.join(timeout)
        _stop.clear()


# -- arming and ending ---------------------------------------------------------------------------


def _arm_one(
    config: ChaosExperiment,
    file: str | None,
    signature: object,
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
) -> None:
    run = ExperimentRun(
        config,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        max_observations=DEFAULT_MAX_OBSERVATIONS,
    )
    entry = _Armed(run, file, signature)
    with _lock:
        if config.experiment_id in _armed:
            raise ExperimentStateError(f"experiment {config.experiment_id!r} is already armed")
        _armed[config.experiment_id] = entry
        run.start(attach=False)
        run.open_block(scope=BaggageScope(entry), key=entry)
        selection.register(config.experiment_id, entry)
        _observe_ignored(meter_provider)
    _ensure_thread()


def _observe_ignored(meter_provider: MeterProvider | None) -> None:
    """Report :func:`selection.ignored` as ``chaos.baggage.ignored`` on ``meter_provider`` (the
    global one when None), once per provider: read at each collection, nothing on a call."""
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    if provider in _observing:
        return
    _observing.add(provider)
    try:
        provider.get_meter(tm.SCOPE_NAME, __version__).create_observable_counter(
            METRIC_BAGGAGE_IGNORED,
            callbacks=[_ignored_observations],
            unit="{entry}",
            description="Baggage entries naming an experiment that were ignored, by reason",
        )
    except Exception as exc:  # a provider that refuses it must not stop the arming
        _log.warning("aumai-chaos: %s could not be created (%r)", METRIC_BAGGAGE_IGNORED, exc)


def _ignored_observations(options: CallbackOptions) -> list[Observation]:
    return [
        Observation(n, {ATTR_BAGGAGE_REASON: reason})
        for reason, n in sorted(selection.ignored().items())
    ]


def _end(entry: _Armed) -> ExperimentResult:
    exp_id = entry.run.experiment.experiment_id
    selection.forget(exp_id, entry)
    entry.run.close_block(entry)
    result = entry.run.finish(None)
    try:
        _write_result(result)
    except Exception as exc:
        _log.error("writing the result of armed experiment %r failed: %s", exp_id, exc)
    return result


def _write_result(result: ExperimentResult) -> None:
    folder = os.environ.get(RESULTS_DIR_ENV, "").strip()
    if not folder:
        return
    service = os.environ.get("OTEL_SERVICE_NAME", "").strip() or f"pid{os.getpid()}"
    name = f"{_UNSAFE.sub('_', result.experiment_id)}.{_UNSAFE.sub('_', service)}.json"
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".aumai-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(result.model_dump_json(indent=2) + "\n")
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        os.unlink(tmp)
        raise


# -- watching --------------------------------------------------------------------------------


def _files_of(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())


def _signature(path: Path) -> object:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _rescan(key: str) -> None:
    """Bring what is armed from ``key`` in line with its files now (under ``_lock``)."""
    known = _watched.get(key)
    if known is None:
        return
    path = Path(key)
    try:
        files = _files_of(path) if path.is_dir() else ([path] if path.exists() else [])
    except OSError as exc:
        _log.error("%s: cannot list: %s", key, exc)
        return
    current: dict[str, object] = {}
    for file in files:
        try:
            current[str(file)] = _signature(file)
        except OSError:
            continue
    for name in [n for n in known if n not in current or known[n][0] != current[n]]:
        _, exp_id = known.pop(name)
        if exp_id is not None and (entry := _armed.get(exp_id)) is not None and entry.file == name:
            del _armed[exp_id]
            _end(entry)
    for name, sig in current.items():
        if name not in known:
            known[name] = (sig, _arm_file(name, sig))


def _arm_file(name: str, signature: object) -> str | None:
    try:
        config = load_experiment_file(name)
        _arm_one(config, name, signature, None, None)
    except ConfigError as exc:
        _log.error("%s", "; ".join(str(exc).splitlines()) or f"{name}: invalid")
        return None
    except ExperimentStateError as exc:
        _log.error("%s: %s", name, exc)
        return None
    except Exception as exc:
        _log.error("%s: cannot arm: %r", name, exc)
        return None
    return config.experiment_id


def _ensure_thread() -> None:
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            _wake.set()
            return
        _thread = threading.Thread(target=_loop, name="aumai-chaos-armed", daemon=True)
        _thread.start()


def _loop() -> None:
    global _thread
    while not _stop.is_set():
        _wake.clear()
        with _lock:
            now = time.monotonic()
            due = [i for i, e in _armed.items() if e.expires <= now]
            ended = [_armed.pop(i) for i in due]
        for entry in ended:
            try:
                _end(entry)
            except Exception as exc:
                _log.error("ending armed experiment failed: %r", exc)
        with _lock:
            for key in list(_watched):
                try:
                    _rescan(key)
                except Exception as exc:
                    _log.error("%s: %r", key, exc)
            nearest = min((e.expires for e in _armed.values()), default=None)
            if not _armed and not _watched:
                if _thread is threading.current_thread():
                    _thread = None
                return
        timeout = WATCH_SECONDS if _watched else 3600.0
        if nearest is not None:
            timeout = min(timeout, max(0.0, nearest - time.monotonic()))
        _wake.wait(timeout)


def _disarm_all() -> None:
    for exp_id in armed():
        try:
            disarm(exp_id)
        except Exception as exc:
            _log.error("disarming %r at exit failed: %r", exp_id, exc)


atexit.register(_disarm_all)
