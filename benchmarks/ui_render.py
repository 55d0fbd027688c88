"""Console benchmark: how long does a 1,000-task tree take to appear in a real browser?

Stores one tree per shape (``--n`` tasks, an aggregator root over the rest; shapes as in
benchmarks/engine.py: wide = no dependencies, chain = each on the one before, layers =
~sqrt(n) layers, two dependencies each), serves the real console on 127.0.0.1 and opens
the tree page ``--repeat`` times in Debian's headless chromium (selenium +
chromium-driver; no browser is downloaded).

Timed from navigation start to the frame after the graph is in the page
(``window.__apflowRender.painted_ms``): loading the page and its scripts, fetching the
tree, the layout, building the SVG and painting. Prints ONE JSON line per shape: n,
edges, median and max of that time, and the median layout and SVG-building times.

    python benchmarks/ui_render.py --n 1000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from engine import build_shape  # noqa: E402
from ui_server import Console  # noqa: E402

from apflow.core import create_session  # noqa: E402
from apflow.spec import create_tree  # noqa: E402


def spec(shape: str, n: int) -> list[dict]:
    deps = build_shape(shape, n - 1)
    children = [
        {
            "id": f"t{i}",
            "name": f"step {i}",
            "parent_id": "root",
            "schemas": {"method": "transform_executor"},
            "inputs": {"data": i, "operations": []},
            "dependencies": [f"t{d}" for d in ds],
        }
        for i, ds in enumerate(deps)
    ]
    used = {d for c in children for d in c["dependencies"]}
    root = {
        "id": "root",
        "name": f"{shape} {n}",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": [c["id"] for c in children if c["id"] not in used],
    }
    return [root, *children]


async def store(db: str, tasks: list[dict]) -> str:
    session = create_session(db)
    try:
        return (await create_tree(session, tasks)).task.id
    finally:
        await session.close()


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
        f"--user-data-dir={tempfile.mkdtemp(prefix='apflow-bench-')}",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shape", action="append", choices=["wide", "chain", "layers"])
    args = parser.parse_args(argv)
    shapes = args.shape or ["wide", "chain", "layers"]
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{Path(tmp) / 'render.db'}"
        trees = {s: spec(s, args.n) for s in shapes}
        roots = {s: asyncio.run(store(db, t)) for s, t in trees.items()}
        driver = browser()
        try:
            with Console(db) as console:
                for shape in shapes:
                    runs = []
                    for _ in range(args.repeat):
                        driver.get("about:blank")
                        driver.get(f"{console.url}/#/tree/{roots[shape]}")
                        deadline = time.monotonic() + 120
                        while not driver.execute_script(
                            "return window.__apflowRender && window.__apflowRender.painted_ms"
                        ):
                            if time.monotonic() > deadline:
                                raise SystemExit(f"{shape}: the graph never appeared")
                            time.sleep(0.02)
                        runs.append(driver.execute_script("return window.__apflowRender"))
                    total = [r["painted_ms"] for r in runs]
                    print(
                        json.dumps(
                            {
                                "shape": shape,
                                "n": runs[0]["tasks"],
                                "edges": sum(len(t["dependencies"]) for t in trees[shape]),
                                "render_ms_median": round(statistics.median(total)),
                                "render_ms_max": round(max(total)),
                                "layout_ms_median": round(
                                    statistics.median(r["layout_ms"] for r in runs), 1
                                ),
                                "svg_ms_median": round(
                                    statistics.median(r["draw_ms"] for r in runs), 1
                                ),
                            }
                        ),
                        flush=True,
                    )
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
