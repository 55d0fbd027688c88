"""Library logging convention: loggers under ``apflow``, no handlers configured on import."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from apflow.core.utils.logger import get_logger


def test_get_logger_names_are_under_apflow():
    assert get_logger("my_module").name == "apflow.my_module"
    assert get_logger("apflow.core.engine").name == "apflow.core.engine"
    assert get_logger().name == "apflow"
    assert get_logger("apflow") is logging.getLogger("apflow")
    assert isinstance(get_logger(__name__), logging.Logger)


def test_importing_apflow_configures_no_handlers():
    code = """
import json, logging
root_before = list(logging.getLogger().handlers)
import apflow
from apflow.core.utils.logger import get_logger
get_logger(__name__).warning("not printed by apflow itself")
out = {
    "apflow": [type(h).__name__ for h in logging.getLogger("apflow").handlers],
    "engine": [type(h).__name__ for h in logging.getLogger("apflow.core.engine").handlers],
    "root_changed": logging.getLogger().handlers != root_before,
    "level": logging.getLogger("apflow").level,
}
print(json.dumps(out))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    state = json.loads(run.stdout)
    assert state == {"apflow": ["NullHandler"], "engine": [], "root_changed": False, "level": 0}


def test_log_records_propagate_to_the_application(caplog):
    with caplog.at_level(logging.INFO):
        get_logger("core.test").info("hello %s", "there")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("apflow.core.test", "hello there")
    ]
