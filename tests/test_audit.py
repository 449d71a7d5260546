"""The audit log: whole records or none, never blocking, and refused (at start and by --check) when unusable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from mcp_bigcommerce_segments.audit import AuditLog, check_writable
from mcp_bigcommerce_segments.errors import AuditLogError

from .support.stdio import clean_env, run_cli

pytestmark = pytest.mark.anyio


async def test_a_torn_last_line_is_left_alone_and_the_next_record_starts_on_a_fresh_line(tmp_path: Path) -> None:
    """A half-written last audit line stays as it is and the next record begins on its own fresh line."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"event":"intent","ids":["a","b"')  # a record cut short by a full disk

    await AuditLog(path).write("intent", ids=["c"])

    lines = path.read_bytes().split(b"\n")
    assert lines[0] == b'{"event":"intent","ids":["a","b"'
    assert json.loads(lines[1])["ids"] == ["c"]
    assert lines[2] == b""


@pytest.mark.subprocess
def test_a_record_the_disk_takes_only_part_of_is_cut_back(tmp_path: Path) -> None:
    """An audit record the disk accepts only part of is refused and trimmed, leaving earlier records intact."""
    path = tmp_path / "audit.jsonl"
    path.write_text('{"event":"outcome"}\n')
    # A child process whose files may not grow past 100 bytes: the write is refused part-way (EFBIG), like ENOSPC.
    script = f"""
import resource, signal, sys
from pathlib import Path
from mcp_bigcommerce_segments.audit import _append
from mcp_bigcommerce_segments.errors import AuditLogError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100, resource.RLIM_INFINITY))
try:
    _append(Path({str(path)!r}), b'{{"event":"intent","ids":[' + b'"x",' * 200 + b'"y"]}}\\n')
except AuditLogError as exc:
    print("refused:", exc)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], env=clean_env(), capture_output=True, text=True, timeout=60, check=True
    )

    assert proc.stdout.startswith("refused:")
    assert path.read_text() == '{"event":"outcome"}\n'  # whole or not at all


async def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO as audit log is refused as not a regular file, both at the check and on write, without hanging."""
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)

    with anyio.fail_after(5):
        with pytest.raises(AuditLogError, match="regular file"):
            check_writable(fifo)
        with pytest.raises(AuditLogError, match="regular file"):
            await AuditLog(fifo).write("intent", ids=[])


@pytest.mark.subprocess
@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_check_fails_when_the_audit_log_cannot_be_appended_to(tmp_path: Path, kind: str) -> None:
    """The --check command exits 1 and reports the audit log NOT WRITABLE for a directory, FIFO or full device."""
    if kind == "directory":
        target = tmp_path / "dir"
        target.mkdir()
    elif kind == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    else:
        target = Path("/dev/full")
    proc = run_cli("--check", env={"BIGCOMMERCE_SANDBOX": "true", "BIGCOMMERCE_AUDIT_LOG": str(target)})

    assert proc.returncode == 1
    assert "Audit log: NOT WRITABLE" in proc.stdout
    assert "All set" not in proc.stdout


@pytest.mark.subprocess
def test_the_server_refuses_to_start_with_a_fifo_as_audit_log(tmp_path: Path) -> None:
    """The server exits 2 at start-up with a FIFO audit log, naming the variable on stderr and printing no stdout."""
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)

    proc = run_cli("--sandbox", env={"BIGCOMMERCE_AUDIT_LOG": str(fifo)})

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "BIGCOMMERCE_AUDIT_LOG" in proc.stderr
    assert "regular file" in proc.stderr
