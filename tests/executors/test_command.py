"""command_executor: disabled by default, allow-listed, no shell, capped, killed on timeout."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from apflow.executors.command import CommandExecutor

PY = sys.executable


async def run(**inputs):
    return await CommandExecutor().execute(inputs)


@pytest.fixture
def enabled(monkeypatch):
    monkeypatch.setenv("APFLOW_ALLOW_COMMANDS", "1")
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", f"echo, {PY}")


async def test_disabled_by_default(monkeypatch):
    monkeypatch.delenv("APFLOW_ALLOW_COMMANDS", raising=False)
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", "echo")
    out = await run(argv=["echo", "hi"])
    assert out["status"] == "failed" and out["error_type"] == "disallowed"
    assert "APFLOW_ALLOW_COMMANDS=1" in out["error"]


async def test_enabled_but_not_allow_listed(monkeypatch):
    monkeypatch.setenv("APFLOW_ALLOW_COMMANDS", "1")
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", "git")
    out = await run(argv=["rm", "-rf", "/tmp/x"])
    assert out["error_type"] == "disallowed" and "allowed: git" in out["error"]
    monkeypatch.delenv("APFLOW_COMMAND_ALLOWLIST")
    out = await run(argv=["echo", "x"])
    assert out["error_type"] == "disallowed" and "allowed: nothing" in out["error"]


async def test_a_path_to_an_allowed_name_is_not_allowed(enabled):
    out = await run(argv=["/bin/echo", "x"])
    assert out["error_type"] == "disallowed"


async def test_runs_without_a_shell(enabled):
    out = await run(argv=["echo", "a; ls", "$(whoami)", "|", "cat"])
    assert out["status"] == "completed", out
    assert out["result"] == {
        "exit_code": 0,
        "stdout": "a; ls $(whoami) | cat\n",
        "stderr": "",
        "truncated": False,
    }


async def test_cwd_env_and_stdin(enabled, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_API_KEY", "leak")
    code = (
        "import os, sys; print(os.getcwd()); print(os.environ.get('GREETING'));"
        "print(os.environ.get('SECRET_API_KEY')); print(sys.stdin.read().upper())"
    )
    out = await run(argv=[PY, "-c", code], cwd=str(tmp_path), env={"GREETING": "hi"}, stdin="abc")
    lines = out["result"]["stdout"].splitlines()
    assert lines == [str(tmp_path), "hi", "None", "ABC"]


async def test_nonzero_exit_fails_unless_check_is_false(enabled):
    code = "import sys; sys.stderr.write('bad thing'); sys.exit(3)"
    out = await run(argv=[PY, "-c", code])
    assert out["status"] == "failed" and out["error_type"] == "command_failed"
    assert out["exit_code"] == 3 and "bad thing" in out["error"]
    out = await run(argv=[PY, "-c", code], check=False)
    assert out["status"] == "completed" and out["result"]["exit_code"] == 3


async def test_timeout_kills_the_process(enabled):
    out = await run(argv=[PY, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert out["status"] == "failed" and out["error_type"] == "timeout"


async def test_output_is_capped_but_fully_drained(enabled):
    out = await run(argv=[PY, "-c", "print('x' * 500000)"], max_output_bytes=1000)
    assert out["status"] == "completed"
    assert len(out["result"]["stdout"]) == 1000 and out["result"]["truncated"] is True


async def test_missing_program_and_bad_cwd(monkeypatch, enabled):
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", "no-such-program-apflow")
    out = await run(argv=["no-such-program-apflow"])
    assert out["error_type"] == "not_found"
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", "echo")
    out = await run(argv=["echo"], cwd="/does/not/exist")
    assert out["error_type"] == "validation_error" and "cwd" in out["error"]


@pytest.mark.parametrize(
    "inputs, where",
    [
        ({}, "argv"),
        ({"argv": []}, "argv"),
        ({"argv": "echo hi"}, "argv"),
        ({"argv": ["echo"], "env": {"A": 1}}, "env/A"),
        ({"argv": ["echo"], "timeout": 0}, "timeout"),
    ],
)
async def test_invalid_inputs(inputs, where, enabled):
    out = await run(**inputs)
    assert out["error_type"] == "validation_error" and where in out["error"]


async def test_env_cannot_change_which_code_runs(enabled, tmp_path):
    for key in ("PATH", "LD_PRELOAD", "PYTHONPATH", "NODE_OPTIONS"):
        out = await run(argv=["echo", "x"], env={key: str(tmp_path)})
        assert out["error_type"] == "disallowed" and key in out["error"]


async def test_program_is_resolved_on_apflows_path_and_keeps_its_argv0(enabled, tmp_path):
    fake = tmp_path / "echo"
    fake.write_text("#!/bin/sh\necho hijacked\n")
    fake.chmod(0o755)
    out = await run(argv=["echo", "real"], cwd=str(tmp_path))
    assert out["result"]["stdout"] == "real\n"
    code = "import sys; print(sys.argv[0])"
    out = await run(argv=[PY, "-c", code])
    assert out["result"]["stdout"].strip() == "-c"


async def test_relative_paths_are_refused_even_when_listed(monkeypatch):
    monkeypatch.setenv("APFLOW_ALLOW_COMMANDS", "1")
    monkeypatch.setenv("APFLOW_COMMAND_ALLOWLIST", "./run.sh")
    out = await run(argv=["./run.sh"])
    assert out["error_type"] == "disallowed" and "relative path" in out["error"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_timeout_kills_grandchildren_too(enabled, tmp_path):
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys, time;"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    started = time.monotonic()
    out = await run(argv=[PY, "-c", code], timeout=1.5)
    assert out["error_type"] == "timeout"
    assert time.monotonic() - started < 10  # not held up by the grandchild's open pipes
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _alive(grandchild)
