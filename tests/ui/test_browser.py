"""The console in a real headless Chromium (Debian's chromium + chromium-driver, selenium).

No browser is downloaded: the tests use /usr/bin/chromium and /usr/bin/chromedriver, which
.ci/run installs. Screenshots go to $APFLOW_UI_SCREENSHOTS when set (docs/img is made
that way: docs/ui.md shows them), else to the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from apflow.service import Service

from .conftest import LiveServer, nap, tree

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        # CI installs chromium first (.ci/run) and says so when that was impossible
        if os.environ.get("CI") and not os.environ.get("APFLOW_NO_BROWSER"):
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never fetch a driver
    profile = tempfile.mkdtemp(prefix="apflow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(autouse=True)
def leave_the_page(request):
    """Close the page after each test, so its event stream ends before the server stops."""
    yield
    if "browser" in request.fixturenames:
        request.getfixturevalue("browser").get("about:blank")


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("APFLOW_UI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for(condition, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def nodes(driver, status: str | None = None) -> list[Any]:
    from selenium.webdriver.common.by import By

    selector = "#graph g.node" + (f".st-{status}" if status else "")
    return driver.find_elements(By.CSS_SELECTOR, selector)


def start(console: LiveServer, tasks: list[dict[str, Any]]) -> str:
    resp = httpx.post(console.url + "/api/trees", json={"tasks": tasks}, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["root_id"]


def no_alert(driver) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert.text  # noqa: B018 - raises when there is no alert
    except NoAlertPresentException:
        return True
    return False


@pytest.fixture
def console_with_model(db_url, registry, scripted):
    answer = tree(
        nap("fetch_users", 0.8, name="fetch users"),
        nap("fetch_orders", 0.8, name="fetch orders"),
        nap("merge", 0.5, name="merge", dependencies=["fetch_users", "fetch_orders"]),
        name="user and order report",
    )
    answer[0]["dependencies"] = ["merge"]
    server = LiveServer(Service(db_url, registry=registry, model=scripted(answer))).start()
    try:
        yield server
    finally:
        server.stop()


def test_describe_generate_run_and_watch_the_nodes_turn_green(browser, console_with_model, shots):
    from selenium.webdriver.common.by import By

    browser.get(console_with_model.url + "/#/describe")
    box = wait_for(lambda: browser.find_elements(By.ID, "requirement"), what="the form")[0]
    box.send_keys("fetch users and orders in parallel, merge them, then report")
    browser.find_element(By.ID, "generate").click()
    run = wait_for(lambda: browser.find_elements(By.ID, "run"), what="the Run button")[0]
    phases = browser.find_element(By.ID, "phases").text
    assert "generate: start" in phases and "validate: done" in phases
    assert len(browser.find_elements(By.CSS_SELECTOR, "#outcome g.node")) == 4
    browser.save_screenshot(str(shots / "ui-describe.png"))

    run.click()
    wait_for(lambda: "#/tree/" in browser.current_url, what="the tree page")
    wait_for(lambda: nodes(browser, "in_progress"), what="a running node")
    wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="live updates")
    browser.save_screenshot(str(shots / "ui-tree-running.png"))
    wait_for(lambda: len(nodes(browser, "completed")) == 4, what="every node green")
    assert browser.find_element(By.ID, "root-status").text == "completed"
    browser.save_screenshot(str(shots / "ui-tree-completed.png"))


def test_a_failing_task_shows_red_with_its_error(browser, console, shots):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    failing = {
        "id": "charge_card",
        "name": "charge card",
        "schemas": {"method": "broken_executor"},
        "inputs": {"message": "card declined: insufficient funds"},
    }
    root_id = start(console, tree(nap("lookup", 0.0, name="look up customer"), failing))
    browser.get(f"{console.url}/#/tree/{root_id}")
    # the task and the aggregator root (a required child failed) are both red: pick the task
    red = wait_for(
        lambda: [n for n in nodes(browser, "failed") if "charge" in n.text],
        what="the failed task's red node",
    )[0]
    # By keyboard: a task is focusable, and Enter opens it (clicks are used elsewhere).
    browser.execute_script("arguments[0].focus()", red)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    error = wait_for(lambda: browser.find_elements(By.ID, "task-error"), what="the error")[0]
    assert error.text == "card declined: insufficient funds"
    assert "broken" in browser.find_element(By.ID, "panel").text  # its error_type
    browser.save_screenshot(str(shots / "ui-task-failed.png"))


def test_the_trees_page_lists_counts_and_filters(browser, console, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    broken = {"id": "charge", "schemas": {"method": "broken_executor"}}
    made = [
        start(console, tree(nap("a", 0.0), nap("b", 0.0), name="nightly report")),
        start(console, tree(nap("lookup", 0.0), broken, name="billing run")),
        start(console, tree(*(nap(f"n{i}", 0.0) for i in range(5)), name="fan-out")),
    ]
    for root_id in made:
        console.call(console.service.wait(root_id))
    browser.get(f"{console.url}/#/trees")
    rows = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#trees table tr")[1:], what="rows"
    )
    assert [r.find_element(By.TAG_NAME, "a").text for r in rows] == [
        "fan-out",
        "billing run",
        "nightly report",
    ]
    assert rows[0].find_elements(By.TAG_NAME, "td")[3].text == "6"
    assert "3 tree(s)" in browser.find_element(By.ID, "trees").text
    browser.save_screenshot(str(shots / "ui-trees.png"))
    billing_status = rows[1].find_element(By.CSS_SELECTOR, ".badge").text.replace(" ", "_")
    Select(browser.find_element(By.ID, "filter-status")).select_by_value(billing_status)
    wait_for(lambda: "1 tree(s)" in browser.find_element(By.ID, "trees").text, what="filter")
    links = browser.find_elements(By.CSS_SELECTOR, "#trees table a")
    assert [a.text for a in links] == ["billing run"]


def test_cancel_stops_a_running_tree(browser, console):
    from selenium.webdriver.common.by import By

    root_id = start(console, tree(nap("slow", 60, name="slow step"), nap("b", 60, name="other")))
    browser.get(f"{console.url}/#/tree/{root_id}")
    wait_for(lambda: len(nodes(browser, "in_progress")) == 2, what="running nodes")
    cancel = browser.find_element(By.ID, "cancel")
    wait_for(cancel.is_enabled, what="an enabled Cancel")
    cancel.click()
    wait_for(lambda: len(nodes(browser, "cancelled")) == 3, what="cancelled nodes")
    assert "3 task(s) cancelled" in browser.find_element(By.ID, "message").text
    # the states are committed a moment before the run's bookkeeping ends
    wait_for(lambda: not console.service.is_running(root_id), what="the run to end")


def test_task_names_and_results_show_as_text_never_as_markup(browser, console):
    from selenium.webdriver.common.by import By

    evil = nap("evil", 0.0, name=XSS, inputs={"seconds": 0, "value": XSS})
    root_id = start(console, tree(evil, name=XSS))
    console.call(console.service.wait(root_id))
    browser.get(f"{console.url}/#/trees")
    link = wait_for(lambda: browser.find_elements(By.LINK_TEXT, XSS), what="the tree link")[0]
    link.click()
    wait_for(lambda: len(nodes(browser, "completed")) == 2, what="the graph")
    title = browser.find_element(By.CSS_SELECTOR, "main h1").text
    assert title == XSS
    node = next(n for n in nodes(browser) if "evil" not in n.text and n.text.startswith("<"))
    node.click()
    result = wait_for(lambda: browser.find_elements(By.ID, "task-result"), what="the result")[0]
    assert XSS in result.text
    assert browser.find_element(By.ID, "task-name").text == XSS
    # Nothing ran and nothing was injected: no alert, no <img>, only our two scripts.
    assert no_alert(browser)
    assert browser.find_elements(By.TAG_NAME, "img") == []
    scripts = browser.execute_script("return [...document.scripts].map(s => s.getAttribute('src'))")
    assert scripts == ["/static/graph.js", "/static/app.js"]


def store_layered_tree(db_url: str, n: int) -> str:
    """A stored (not run) tree of ``n`` tasks: ~sqrt(n) layers, two dependencies each."""
    from apflow.core import create_session
    from apflow.spec import create_tree

    width = round(n**0.5)
    children = []
    for i in range(n - 1):
        layer, pos = divmod(i, width)
        deps = (
            sorted({f"t{(layer - 1) * width + pos}", f"t{(layer - 1) * width + (pos + 1) % width}"})
            if layer
            else []
        )
        children.append(nap(f"t{i}", 0, dependencies=deps, name=f"step {i}"))
    used = {d for c in children for d in c["dependencies"]}
    spec = tree(*children, name=f"{n}-task tree")
    spec[0]["dependencies"] = [c["id"] for c in children if c["id"] not in used]

    async def store() -> str:
        session = create_session(db_url)
        try:
            return (await create_tree(session, spec)).task.id
        finally:
            await session.close()

    return asyncio.run(store())


def test_a_1000_task_tree_is_drawn_whole(browser, console, db_url, shots):
    root_id = store_layered_tree(db_url, 1000)
    browser.get(f"{console.url}/#/tree/{root_id}")
    wait_for(
        lambda: browser.execute_script("return document.getElementById('graph')?.dataset.rendered"),
        what="the graph",
        timeout=60,
    )
    stats = browser.execute_script("return window.__apflowRender")
    assert stats["tasks"] == 1000
    assert len(nodes(browser)) == 1000
    edges = browser.execute_script("return document.querySelectorAll('#graph path.edge').length")
    assert edges > 1900
    browser.save_screenshot(str(shots / "ui-1000-tasks.png"))
    # The figure that matters is in benchmarks/README.md (benchmarks/ui_render.py); this
    # bound only catches a layout gone quadratic (dagre took 41 s on this shape).
    assert stats["painted_ms"] < 15000, stats


def test_with_a_token_the_page_asks_for_it_once(browser, db_url, registry):
    from selenium.webdriver.common.by import By

    token = "a-long-secret-token-for-the-console"
    server = LiveServer(Service(db_url, registry=registry), token=token, allow_remote=True)
    server.start()
    try:
        root_id = start_with(server, token, tree(nap("a", 0.0), name="guarded tree"))
        server.call(server.service.wait(root_id))
        browser.get(f"{server.url}/#/trees")
        dialog = wait_for(
            lambda: browser.find_element(By.ID, "login").is_displayed(), what="the token dialog"
        )
        assert dialog
        assert "token" in browser.find_element(By.ID, "main").text
        browser.find_element(By.ID, "login-token").send_keys("wrong-token")
        browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
        wait_for(lambda: browser.find_element(By.ID, "login").is_displayed(), what="asked again")
        field = browser.find_element(By.ID, "login-token")
        field.clear()
        field.send_keys(token)
        browser.find_element(By.CSS_SELECTOR, "#login-form button").click()
        link = wait_for(lambda: browser.find_elements(By.LINK_TEXT, "guarded tree"), what="list")
        link[0].click()
        wait_for(lambda: len(nodes(browser, "completed")) == 2, what="the graph")
        wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="events")
    finally:
        browser.get("about:blank")  # (the token stays with that origin, a port of its own)
        server.stop()


def start_with(server: LiveServer, token: str, tasks: list[dict[str, Any]]) -> str:
    resp = httpx.post(
        server.url + "/api/trees",
        json={"tasks": tasks},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["root_id"]
