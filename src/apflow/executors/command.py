"""command_executor: run one program without a shell, only when explicitly allowed.

A generated tree must never be able to run arbitrary programs on the host, so this executor
is off unless ``APFLOW_ALLOW_COMMANDS=1`` and then starts only executables listed in
``APFLOW_COMMAND_ALLOWLIST``. ``argv`` goes straight to ``exec`` (no shell), the child gets a
minimal environment (no inherited API keys), output is capped, and the whole process group is
killed on timeout or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from typing import Any

from apflow.core.executor import BaseTask, completed, failed
from apflow.core.settings import ENV_NAMES, settings

ALLOW_ENV = ENV_NAMES["allow_commands"]
ALLOWLIST_ENV = ENV_NAMES["command_allowlist"]
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "TZ")
DEFAULT_MAX_OUTPUT = 1024 * 1024
#: Variables that change which code a program loads; a tree may not set them.
_UNSAFE_ENV = re.compile(
    r"PATH|LD_.*|DYLD_.*|PYTHON(PATH|HOME|STARTUP)|NODE_OPTIONS|BASH_ENV|ENV|PERL5OPT|RUBYOPT",
    re.I,
)


def commands_enabled() -> bool:
    return settings().allow_commands


def allowlist() -> set[str]:
    return set(settings().command_allowlist)


def unsafe_env_keys(env: dict[str, str] | None) -> list[str]:
    """Keys of ``env`` that could make an allowed program run other code (PATH, LD_PRELOAD...)."""
    return sorted(k for k in env or {} if _UNSAFE_ENV.fullmatch(k))


def resolve_program(name: str) -> str | None:
    """Absolute path of ``name`` found on apflow's own PATH (never the task's ``env``)."""
    if os.sep in name or (os.altsep and os.altsep in name):
        return name if os.path.isabs(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


def refusal(executable: str) -> str | None:
    """Why ``executable`` may not run under the current settings, or None."""
    if not commands_enabled():
        return (
            f"command_executor is disabled; set {ALLOW_ENV}=1 and list programs in {ALLOWLIST_ENV}"
        )
    allowed = allowlist()
    if executable not in allowed:
        shown = ", ".join(sorted(allowed)) or "nothing"
        return f"{executable!r} is not in {ALLOWLIST_ENV} (allowed: {shown})"
    if os.sep in executable and not os.path.isabs(executable):
        return f"{executable!r} is a relative path; allow-list program names or absolute paths"
    return None


class CommandExecutor(BaseTask):
    id = "command_executor"
    effects = "write"  # a program can change anything it can reach
    name = "Run command"
    description = (
        "Run one allow-listed program with an argv list (no shell), returning exit_code, "
        "stdout and stderr. Disabled unless APFLOW_ALLOW_COMMANDS=1."
    )
    input_schema = {
        "type": "object",
        "required": ["argv"],
        "properties": {
            "argv": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "program name and its arguments, e.g. ['git', 'status']",
            },
            "cwd": {"type": "string", "description": "working directory"},
            "env": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "extra environment variables (PATH/HOME/LANG are inherited)",
            },
            "stdin": {"type": "string", "description": "text written to the program's stdin"},
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": 60,
                "description": "seconds before the program is killed",
            },
            "max_output_bytes": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_OUTPUT,
                "description": "keep at most this many bytes of stdout and of stderr",
            },
            "check": {
                "type": "boolean",
                "default": True,
                "description": "a non-zero exit code makes the task fail",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "exit_code": {"type": "integer"},
            "stdout": {"type": "string"},
            "stderr": {"type": "string"},
            "truncated": {"type": "boolean"},
        },
    }

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        argv = inputs["argv"]
        reason = refusal(argv[0])
        if reason:
            return failed(reason, "disallowed")
        unsafe = unsafe_env_keys(inputs.get("env"))
        if unsafe:
            return failed(f"env may not set {', '.join(unsafe)}", "disallowed")
        program = resolve_program(argv[0])
        if program is None:
            return failed(f"program {argv[0]!r} not found on PATH", "not_found")
        cwd = inputs.get("cwd")
        if cwd is not None and not os.path.isdir(cwd):
            return failed(f"cwd {cwd!r} is not a directory", "validation_error")
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env.update(inputs.get("env") or {})
        cap = int(inputs.get("max_output_bytes", DEFAULT_MAX_OUTPUT))
        timeout = float(inputs.get("timeout", 60))
        stdin = inputs.get("stdin")
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                executable=program,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            return failed(f"program {argv[0]!r} not found on PATH", "not_found")
        except PermissionError as exc:
            return failed(f"cannot run {argv[0]!r}: {exc}", "execution_error")
        try:
            async with asyncio.timeout(timeout):
                (out, out_cut), (err, err_cut), _ = await asyncio.gather(
                    _read_capped(proc.stdout, cap),
                    _read_capped(proc.stderr, cap),
                    _feed(proc, stdin),
                )
                code = await proc.wait()
        except TimeoutError:
            return failed(f"{argv[0]} did not finish within {timeout}s (killed)", "timeout")
        finally:
            if proc.returncode is None:
                _kill_group(proc)
                # wait() also waits for the pipes; a daemon that left our group may hold them.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        await proc.wait()
        result = {
            "exit_code": code,
            "stdout": out.decode(errors="replace"),
            "stderr": err.decode(errors="replace"),
            "truncated": out_cut or err_cut,
        }
        if code != 0 and inputs.get("check", True):
            tail = result["stderr"].strip()[-500:]
            return failed(
                f"{argv[0]} exited with code {code}" + (f": {tail}" if tail else ""),
                "command_failed",
                exit_code=code,
                stdout=result["stdout"][-2000:],
            )
        return completed(result)


async def _read_capped(stream: asyncio.StreamReader | None, cap: int) -> tuple[bytes, bool]:
    """Keep the first ``cap`` bytes; keep draining so a chatty child never blocks on a pipe."""
    kept = bytearray()
    cut = False
    while stream is not None and (chunk := await stream.read(65536)):
        room = cap - len(kept)
        if room > 0:
            kept += chunk[:room]
        cut = cut or len(chunk) > room
    return bytes(kept), cut


async def _feed(proc: asyncio.subprocess.Process, stdin: str | None) -> None:
    if stdin is None or proc.stdin is None:
        return
    try:
        proc.stdin.write(stdin.encode())
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        proc.stdin.close()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):  # AttributeError: Windows
        try:
            proc.kill()
        except ProcessLookupError:
            pass
