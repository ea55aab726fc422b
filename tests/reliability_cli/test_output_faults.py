"""``run --output`` when the output cannot be written: a read-only directory (from the start, or
turned read-only while the experiment runs), a full disk (a real 64 KiB tmpfs, a real ``/dev/full``
and a simulated ENOSPC), a parent that is a file. In each case: one clear line naming the path,
exit code 2, any earlier file at that path intact byte for byte, no temporary file left behind;
and when the failure comes after the run, the run completed and its result was still printed.

Read-only as root: root ignores a directory's mode bits, so where the tests run as root the
directory is made immutable (``chattr +i``, which stops root too) instead of ``chmod 0o555``.
Where that (or a mount namespace for the small tmpfs) is missing, the test skips locally but
fails in CI (``CI`` set, as ``.ci/run`` does): CI must really exercise both. The simulated ENOSPC
and ``/dev/full`` tests run everywhere (as root, on a private device node).
Running the command as ``nobody`` (which would make ``chmod`` bite) needs an interpreter that
``nobody`` may execute, which a virtualenv under ``/root`` is not.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aumai_chaos import ExperimentResult, ExperimentStatus
from aumai_chaos.cli.commands import app
from tests.cli.support import cli_env, error_lines, run_cli, start_cli
from tests.helpers import REPO, missing_tool

#: What an earlier run left at the output path; it must survive every failure byte for byte.
EARLIER = b'{"experiment_id": "earlier", "status": "completed"}\n' + bytes(range(256)) * 4
ROOT = os.geteuid() == 0


def _assert_error_line(stderr: str, path: Path | str, *needles: str) -> str:
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"aumai-chaos: error: {path}: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in stderr
    return lines[0]


def _assert_intact(folder: Path, earlier: Path) -> None:
    assert earlier.read_bytes() == EARLIER
    assert sorted(p.name for p in folder.iterdir()) == [earlier.name]  # no temporary file


# -- read-only directories ----------------------------------------------------------------------


def _immutable_works(folder: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    probe = folder / "probe"
    probe.mkdir()
    try:
        done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False)
        if done.returncode != 0:
            return False
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, check=True)
        return True
    finally:
        probe.rmdir()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """``make(folder)`` makes ``folder`` unwritable, even for root; undone after the test."""
    if ROOT and not _immutable_works(tmp_path):
        missing_tool("running as root, and chattr +i is not available to stop root's writes")
    done: list[Path] = []

    def make(folder: Path) -> None:
        if ROOT:
            subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=True)
        else:
            folder.chmod(0o555)
        done.append(folder)

    yield make
    for folder in done:
        if ROOT:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
        else:
            folder.chmod(0o755)


def _output_folder(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "out"
    folder.mkdir()
    earlier = folder / "result.json"
    earlier.write_bytes(EARLIER)
    return folder, earlier


@pytest.mark.slow
def test_a_read_only_directory_is_refused_before_the_run(
    tmp_path: Path, write_experiment: Callable[..., Path], read_only: Callable[[Path], None]
) -> None:
    folder, earlier = _output_folder(tmp_path)
    read_only(folder)
    result = run_cli("run", "-e", str(write_experiment(duration=60)), "-o", str(earlier))
    assert result.returncode == 2, result.stderr
    _assert_error_line(result.stderr, earlier, "--output", "is not writable")
    assert "Running experiment" not in result.stderr  # refused at once, not after 60 s
    assert result.stdout == ""
    _assert_intact(folder, earlier)


@pytest.mark.slow
def test_a_directory_made_read_only_during_the_run(
    tmp_path: Path, write_experiment: Callable[..., Path], read_only: Callable[[Path], None]
) -> None:
    folder, earlier = _output_folder(tmp_path)
    exp = write_experiment(duration=1.5, tick=0.25)
    proc = start_cli("run", "-e", str(exp), "-o", str(earlier), "--json-output")
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("Running experiment")
        read_only(folder)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, stderr
    line = _assert_error_line(stderr, earlier, "cannot write the file")
    assert ("Permission denied" in line) or ("Operation not permitted" in line), line
    printed = ExperimentResult.model_validate_json(stdout)  # the run completed and was printed
    assert printed.status is ExperimentStatus.completed
    assert printed.summary["total_faults_fired"] > 0
    _assert_intact(folder, earlier)


def test_a_parent_that_is_a_file_is_refused_before_the_run(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    parent = tmp_path / "not-a-directory"
    parent.write_bytes(EARLIER)
    target = parent / "result.json"
    result = CliRunner().invoke(
        app, ["run", "-e", str(write_experiment(duration=60)), "-o", str(target)]
    )
    assert result.exit_code == 2
    _assert_error_line(result.stderr, target, "--output")
    assert "Running experiment" not in result.stderr
    assert parent.read_bytes() == EARLIER


# -- full disks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--output", "--junit-xml"])
def test_a_full_disk_while_writing_keeps_the_earlier_file(
    tmp_path: Path,
    write_experiment: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    option: str,
) -> None:
    """ENOSPC from the kernel at fsync, as a full disk reports it (simulated, in process)."""
    folder, earlier = _output_folder(tmp_path)
    real_fsync = os.fsync
    failed: list[int] = []

    def full(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            failed.append(fd)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    exp = write_experiment(duration=0.5, tick=0.1)
    result = CliRunner().invoke(app, ["run", "-e", str(exp), option, str(earlier), "--json-output"])
    assert failed
    assert result.exit_code == 2, result.output
    _assert_error_line(result.stderr, earlier, "cannot write the file: No space left on device")
    printed = ExperimentResult.model_validate_json(result.stdout)
    assert printed.status is ExperimentStatus.completed
    _assert_intact(folder, earlier)


#: Run inside a private mount namespace (``unshare --mount``): mounts a 64 KiB tmpfs, leaves an
#: earlier result on it, fills the rest, runs the command and reports what happened as JSON.
#: The mount disappears with the namespace, whatever happens to the test.
_FULL_DISK_DRIVER = textwrap.dedent(
    """\
    import json, os, subprocess, sys
    folder, experiment, earlier_hex = sys.argv[1:4]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder], check=True)
    target = os.path.join(folder, "result.json")
    with open(target, "wb") as f:
        f.write(bytes.fromhex(earlier_hex))
    try:
        with open(os.path.join(folder, "filler"), "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
    except OSError:
        pass
    started = __import__("time").monotonic()
    done = subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "aumai_chaos", "run", "-e", experiment,
         "-o", target, "--json-output"],
        capture_output=True, text=True, timeout=60,
    )
    with open(target, "rb") as f:
        after = f.read()
    print(json.dumps({
        "returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
        "after": after.hex(), "listing": sorted(os.listdir(folder)), "target": target,
        "seconds": __import__("time").monotonic() - started,
    }))
    """
)


def _unshare_mount_works() -> bool:
    if not ROOT or shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.slow
def test_a_really_full_filesystem_keeps_the_earlier_file(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    if not _unshare_mount_works():
        missing_tool("needs root and mount namespaces (unshare --mount) to mount a small tmpfs")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    exp = write_experiment(duration=0.5, tick=0.1)
    driver = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            sys.executable,
            "-c",
            _FULL_DISK_DRIVER,
            str(folder),
            str(exp),
            EARLIER.hex(),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=REPO,
        timeout=90,
        check=False,
    )
    assert driver.returncode == 0, driver.stderr
    report = json.loads(driver.stdout)
    assert report["returncode"] == 2, report["stderr"]
    _assert_error_line(
        report["stderr"], report["target"], "cannot write the file: No space left on device"
    )
    printed = ExperimentResult.model_validate_json(report["stdout"])
    assert printed.status is ExperimentStatus.completed
    assert bytes.fromhex(report["after"]) == EARLIER
    assert report["listing"] == ["filler", "result.json"]  # the temporary file was removed
    assert report["seconds"] < 0.5 + 10


@contextlib.contextmanager
def _device(tmp_path: Path, name: str, minor: int) -> Iterator[Path]:
    """A character device like /dev/<name>: a private node, so that a regression that replaced
    it could never touch the real /dev. In the test's directory when root may make one there;
    else (a filesystem mounted ``nodev``) in /dev itself under a name of its own. Not root, the
    real node, which only root could replace."""
    for node in (tmp_path / name, Path("/dev") / f"aumai-chaos-test-{name}-{os.getpid()}"):
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except OSError:
            continue
        try:
            node.open("wb").close()  # a filesystem mounted nodev refuses this
        except OSError:
            node.unlink(missing_ok=True)
            continue
        try:
            yield node
        finally:
            node.unlink(missing_ok=True)
        return
    real = Path("/dev") / name
    if ROOT or not real.exists():
        missing_tool(f"cannot make a private /dev/{name} and will not risk the real one")
    yield real


def test_dev_full_is_written_in_place_and_reports_enospc(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    with _device(tmp_path, "full", 7) as full:
        started = time.monotonic()
        result = CliRunner().invoke(
            app, ["run", "-e", str(write_experiment(duration=0.5, tick=0.1)), "-o", str(full)]
        )
        assert result.exit_code == 2, result.output
        _assert_error_line(result.stderr, full, "cannot write the file: No space left on device")
        assert result.stdout.startswith("Status    : completed\n")
        assert stat.S_ISCHR(full.stat().st_mode)  # still the device, never replaced by a file
        assert time.monotonic() - started < 0.5 + 10


def test_dev_null_is_written_in_place(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    with _device(tmp_path, "null", 3) as null:
        exp = write_experiment(duration=0.3, tick=0.1)
        result = CliRunner().invoke(app, ["run", "-e", str(exp), "-o", str(null)])
        assert result.exit_code == 0, result.output
        assert stat.S_ISCHR(null.stat().st_mode)


def test_a_symbolic_link_is_written_through(
    tmp_path: Path, write_experiment: Callable[..., Path]
) -> None:
    folder, earlier = _output_folder(tmp_path)
    link = tmp_path / "latest.json"
    link.symlink_to(earlier)
    exp = write_experiment(duration=0.3, tick=0.1)
    result = CliRunner().invoke(app, ["run", "-e", str(exp), "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    saved = ExperimentResult.model_validate_json(earlier.read_text(encoding="utf-8"))
    assert saved.status is ExperimentStatus.completed
    assert sorted(p.name for p in folder.iterdir()) == ["result.json"]
