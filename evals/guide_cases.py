"""The guide suite: the best-practices guide's own "Good requirements", over apflow's
executors with ``sql_executor`` (so "save to database" has an executor that does it).

The guide's first requirement names no URL; its gold fetches from the two APIs a user
would name, so node and edge F1 say whether the tree has the right steps in the right
order, while the URL values cannot match (they are the model's guess, and the generator
warns about them).
"""

from __future__ import annotations

from functools import partial

from builtin_cases import TOOLS as BUILTIN_TOOLS
from builtin_cases import case as _case
from builtin_cases import get, llm, merge, scrape, t

case = partial(_case, prefix="guide")
TOOLS = [*BUILTIN_TOOLS, "sql_executor"]

CASES = [
    case(
        "parallel-merge-save",
        "fan_out_in",
        "Fetch user data and order data in parallel, then merge the results and save to database",
        [
            get("users", "https://api.example.com/users"),
            get("orders", "https://api.example.com/orders"),
            merge("merged", "users", "orders"),
            t(
                "save",
                "sql_executor",
                {
                    "statement": "INSERT INTO reports (data) VALUES (:data)",
                    "params": {"data": "$merged$"},
                },
                "merged",
            ),
        ],
    ),
    case(
        "scrape-analyse-aggregate",
        "transform_between",
        "Scrape data from https://api.example.com, analyze the content using LLM, then "
        "aggregate both results into a final report",
        [
            scrape("page", "https://api.example.com"),
            llm("analysis", "Analyze this content: $page.text$", "page"),
        ],
    ),
]
