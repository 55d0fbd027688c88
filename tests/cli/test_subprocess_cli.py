"""The CLI as users run it: ``python -m apflow`` in a real process."""

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from tests.cli.conftest import OFFLINE_TREE, REPO, run_module


def test_help_lists_every_command():
    help_text = run_module("--help").stdout
    for command in ("generate", "validate", "run", "show", "tasks", "executors", "serve", "demo"):
        assert command in help_text


def test_generate_then_run_in_real_processes(tmp_path, db_url):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([OFFLINE_TREE]))
    tree = tmp_path / "tree.json"
    generated = run_module(
        "--db",
        db_url,
        "generate",
        "count and greet",
        "--model",
        f"scripted:{answers}",
        "-o",
        str(tree),
        "--json",
    )
    assert generated.returncode == 0, generated.stderr
    assert json.loads(generated.stdout)["stats"]["llm_calls"] == 1
    ran = run_module("--db", db_url, "run", str(tree), "--json")
    assert ran.returncode == 0, ran.stderr
    outcome = json.loads(ran.stdout)  # stdout carries JSON only
    assert outcome["result"] == {"numbers": 3, "greeting": "hello Ada"}
    assert len(outcome["tasks"]) == 3


def test_user_errors_are_one_line_without_traceback_unless_verbose(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    quiet = run_module("run", str(broken))
    assert quiet.returncode == 1
    assert "is not valid JSON" in quiet.stderr and "Traceback" not in quiet.stderr
    assert len(quiet.stderr.strip().splitlines()) == 2  # the error and its hint
    assert quiet.stdout == ""
    verbose = run_module("-v", "run", str(broken))
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr


SLEEPY_CLI = textwrap.dedent(
    f"""
    import sys
    sys.path.insert(0, {str(REPO)!r})
    from apflow import executor_register
    from tests.helpers import NapExecutor

    executor_register()(NapExecutor)

    from apflow.cli.app import main
    sys.argv[0] = "apflow"
    main()
    """
)


def test_ctrl_c_cancels_the_run_cleanly_and_exits_130(tmp_path):
    db = tmp_path / "run.db"
    script = tmp_path / "sleepy.py"
    script.write_text(SLEEPY_CLI)
    tree = [
        {"id": "root", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["a"]},
        {"id": "a", "parent_id": "root", "schemas": {"method": "nap_executor"}},
    ]
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(tree))
    proc = subprocess.Popen(
        [sys.executable, str(script), "--db", str(db), "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        # A shell starts background jobs with SIGINT ignored, and children inherit that:
        # pytest run with `&` would make this apflow ignore Ctrl-C (the nap then completes).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if db.exists():
                try:
                    with sqlite3.connect(db) as conn:
                        rows = conn.execute("select status from tasks").fetchall()
                except sqlite3.OperationalError:
                    continue
                if ("in_progress",) in rows:
                    break
        else:
            raise AssertionError("the nap task never started")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "resume with: apflow run --task" in stderr
    assert "Traceback" not in stderr
    with sqlite3.connect(db) as conn:
        statuses = {s for (s,) in conn.execute("select status from tasks")}
    assert statuses == {"cancelled"}
