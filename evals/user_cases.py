"""The user-dev suite: requests as users write them, gold trees over apflow's own executors.

Terse, chatty, out of order, non-native, typos, bullet lists. Gold conventions (see
docs/evals.md, "The apflow suites"): one task per named action plus any lookup a later step
needs; ``depends_on`` holds direct needs only (data flow, and the order of writes); reads
with no data flow and no write between them run in parallel; a fallback depends on what it
replaces and the step using whichever arrived depends on both (``meta.optional`` lists the
optional edges); plain merge / pick / filter / reshape is ``transform_executor``.
"""

from __future__ import annotations

from functools import partial

from builtin_cases import case as _case
from builtin_cases import get, llm, mcp, merge, scrape, send, t

case = partial(_case, prefix="user")


def shape(id: str, data: str, op: dict, *deps: str) -> dict:
    """One transform operation on ``data`` (a reference to an earlier result)."""
    return t(id, "transform_executor", {"data": data, "operations": [op]}, *deps)


def sysinfo(id: str, *sections: str) -> dict:
    return t(id, "system_info_executor", {"sections": list(sections)} if sections else {})


MCP = "https://mcp.example.com/mcp"

SIDE_EFFECTS = [
    # -- side effects: a write orders what the request puts after it, and follows what came before
    case(
        "create-then-verify",
        "side_effect_order",
        "create the user with a POST to https://api.example.com/users, name 'Ada Lovelace', "
        "then GET https://api.example.com/users/42 to check it exists",
        [
            send("create", "POST", "https://api.example.com/users", {"name": "Ada Lovelace"}),
            get("check", "https://api.example.com/users/42", "create"),
        ],
    ),
    case(
        "post-digest-first-scrape",
        "side_effect_order",
        "post the summary to https://hooks.example.net/digest — but first scrape "
        "https://example.org/changelog and summarise it",
        [
            scrape("changelog", "https://example.org/changelog"),
            llm("summary", "Summarise this changelog: $changelog.text$", "changelog"),
            send(
                "post",
                "POST",
                "https://hooks.example.net/digest",
                {"text": "$summary.text$"},
                "summary",
            ),
        ],
    ),
    case(
        "delete-session-then-list",
        "side_effect_order",
        "pls delete https://api.example.com/sessions/old-7781 and after that list "
        "https://api.example.com/sessions so i can see whats left",
        [
            send("delete", "DELETE", "https://api.example.com/sessions/old-7781"),
            get("sessions", "https://api.example.com/sessions", "delete"),
        ],
    ),
    case(
        "orders-summary-report",
        "side_effect_order",
        "please to fetch the orders from https://shop.example.net/api/orders and then make "
        "summary, after send the summary to https://shop.example.net/api/reports with POST",
        [
            get("orders", "https://shop.example.net/api/orders"),
            llm("summary", "Make a summary of these orders: $orders.json$", "orders"),
            send(
                "report",
                "POST",
                "https://shop.example.net/api/reports",
                {"text": "$summary.text$"},
                "summary",
            ),
        ],
    ),
    case(
        "flag-put-read-back",
        "side_effect_order",
        'turn on dark mode: PUT {"enabled": true} to '
        "https://flags.example.com/api/flags/dark-mode, then read "
        "https://flags.example.com/api/flags back and tell me which flags are on now",
        [
            send(
                "enable", "PUT", "https://flags.example.com/api/flags/dark-mode", {"enabled": True}
            ),
            get("flags", "https://flags.example.com/api/flags", "enable"),
            llm("on", "Which of these feature flags are on? $flags.json$", "flags"),
        ],
    ),
    case(
        "ticket-create-escalate",
        "side_effect_order",
        "First POST a ticket titled 'Printer on fire' to "
        "https://helpdesk.example.com/api/tickets, then PATCH "
        "https://helpdesk.example.com/api/tickets/913 to set its status to 'escalated'.",
        [
            send(
                "create",
                "POST",
                "https://helpdesk.example.com/api/tickets",
                {"title": "Printer on fire"},
            ),
            send(
                "escalate",
                "PATCH",
                "https://helpdesk.example.com/api/tickets/913",
                {"status": "escalated"},
                "create",
            ),
        ],
    ),
    case(
        "backup-then-delete-page",
        "side_effect_order",
        "grab a copy of https://cms.example.org/api/pages/home (just a GET, so we have a "
        "backup) and then DELETE that page",
        [
            get("backup", "https://cms.example.org/api/pages/home"),
            send("remove", "DELETE", "https://cms.example.org/api/pages/home", None, "backup"),
        ],
    ),
    case(
        "jobs-shortlist-bullets",
        "side_effect_order",
        "- scrape https://example.com/jobs\n"
        "- pick out the senior roles (use the llm)\n"
        "- post them to https://hr.example.net/api/shortlist\n"
        "- then GET https://hr.example.net/api/shortlist/count to confirm",
        [
            scrape("jobs", "https://example.com/jobs"),
            llm("senior", "List the senior roles in these job ads: $jobs.text$", "jobs"),
            send(
                "shortlist",
                "POST",
                "https://hr.example.net/api/shortlist",
                {"roles": "$senior.text$"},
                "senior",
            ),
            get("count", "https://hr.example.net/api/shortlist/count", "shortlist"),
        ],
    ),
    case(
        "deploy-announce",
        "side_effect_order",
        "hey, could you post 'deploy starting' to our chat (POST "
        "https://chat.example.com/api/messages), then kick off the deploy with a POST to "
        "https://deploy.example.com/api/deploy, and once that's done post 'deploy finished' "
        "to the same chat url? thanks!",
        [
            send(
                "announce",
                "POST",
                "https://chat.example.com/api/messages",
                {"text": "deploy starting"},
            ),
            send("deploy", "POST", "https://deploy.example.com/api/deploy", None, "announce"),
            send(
                "finished",
                "POST",
                "https://chat.example.com/api/messages",
                {"text": "deploy finished"},
                "deploy",
            ),
        ],
    ),
    case(
        "pytest-post-output",
        "side_effect_order",
        "run `pytest -q` and post the output to https://ci.example.com/api/runs",
        [
            t("tests", "command_executor", {"argv": ["pytest", "-q"]}),
            send(
                "post",
                "POST",
                "https://ci.example.com/api/runs",
                {"output": "$tests.stdout$"},
                "tests",
            ),
        ],
        needs_commands=True,
    ),
    case(
        "reset-cache-then-two-reads",
        "side_effect_order",
        "clear the cache with DELETE https://api.example.org/cache, then fetch "
        "https://api.example.org/products and https://api.example.org/categories",
        [
            send("reset", "DELETE", "https://api.example.org/cache"),
            get("products", "https://api.example.org/products", "reset"),
            get("categories", "https://api.example.org/categories", "reset"),
        ],
    ),
    case(
        "welcome-page-put-check",
        "side_effect_order",
        "Could you write a short welcome note for our new member 'Karim', PUT it to "
        "https://wiki.example.com/api/pages/welcome-karim and then scrape "
        "https://wiki.example.com/welcome-karim to make sure it renders?",
        [
            llm("note", "Write a short welcome note for our new member 'Karim'."),
            send(
                "publish",
                "PUT",
                "https://wiki.example.com/api/pages/welcome-karim",
                {"content": "$note.text$"},
                "note",
            ),
            scrape("rendered", "https://wiki.example.com/welcome-karim", "publish"),
        ],
    ),
    case(
        "inventory-import-typos",
        "side_effect_order",
        "upload the invnetory from https://warehouse.example.com/api/stock to "
        "https://erp.example.net/api/inventory/import (POST) and than get "
        "https://erp.example.net/api/inventory/import/status",
        [
            get("stock", "https://warehouse.example.com/api/stock"),
            send(
                "upload",
                "POST",
                "https://erp.example.net/api/inventory/import",
                "$stock.json$",
                "stock",
            ),
            get("status", "https://erp.example.net/api/inventory/import/status", "upload"),
        ],
    ),
    case(
        "ship-then-email",
        "side_effect_order",
        "patch https://api.example.com/orders/5531 to status 'shipped' then email the customer: "
        "post to https://mail.example.com/api/send with to 'jane@example.org' and subject "
        "'your order has shipped'",
        [
            send("ship", "PATCH", "https://api.example.com/orders/5531", {"status": "shipped"}),
            send(
                "email",
                "POST",
                "https://mail.example.com/api/send",
                {"to": "jane@example.org", "subject": "your order has shipped"},
                "ship",
            ),
        ],
    ),
    case(
        "memory-to-metrics",
        "side_effect_order",
        "log this machine's memory usage to https://metrics.example.com/api/ingest",
        [
            sysinfo("info", "memory"),
            send(
                "ingest", "POST", "https://metrics.example.com/api/ingest", "$info.memory$", "info"
            ),
        ],
    ),
    case(
        "git-pull-then-health",
        "side_effect_order",
        "run `git pull` in /srv/app, then hit https://app.example.com/healthz to see it's ok",
        [
            t("pull", "command_executor", {"argv": ["git", "pull"], "cwd": "/srv/app"}),
            get("health", "https://app.example.com/healthz", "pull"),
        ],
        needs_commands=True,
    ),
    case(
        "snapshot-then-reprice",
        "side_effect_order",
        "Snapshot https://api.example.com/inventory and https://api.example.com/prices first "
        "(plain GETs), then start the nightly reprice job: POST "
        "https://api.example.com/jobs/reprice.",
        [
            get("inventory", "https://api.example.com/inventory"),
            get("prices", "https://api.example.com/prices"),
            send(
                "reprice",
                "POST",
                "https://api.example.com/jobs/reprice",
                None,
                "inventory",
                "prices",
            ),
        ],
    ),
]

FAN_OUT_IN = [
    # -- independent reads in parallel, one step that needs them all
    case(
        "standup-prs-builds",
        "fan_out_in",
        "get the open PRs from https://git.example.com/api/repos/core/pulls?state=open and the "
        "failing builds from https://ci.example.com/api/builds?status=failed, then write me a "
        "standup note",
        [
            get("prs", "https://git.example.com/api/repos/core/pulls?state=open"),
            get("builds", "https://ci.example.com/api/builds?status=failed"),
            llm(
                "standup",
                "Write a standup note. Open PRs: $prs.json$ Failing builds: $builds.json$",
                "prs",
                "builds",
            ),
        ],
    ),
    case(
        "pricing-page-and-plans",
        "fan_out_in",
        "scrape https://example.org/pricing and GET https://api.example.org/plans, merge the "
        "two into one object",
        [
            scrape("pricing", "https://example.org/pricing"),
            get("plans", "https://api.example.org/plans"),
            merge("merged", "pricing", "plans"),
        ],
    ),
    case(
        "users-tickets-report",
        "fan_out_in",
        "i need take the users from https://crm.example.com/api/users and the tickets from "
        "https://support.example.com/api/tickets, then you make me report who have most tickets",
        [
            get("users", "https://crm.example.com/api/users"),
            get("tickets", "https://support.example.com/api/tickets"),
            llm(
                "report",
                "Report which users have the most tickets. Users: $users.json$ "
                "Tickets: $tickets.json$",
                "users",
                "tickets",
            ),
        ],
    ),
    case(
        "node-vs-cluster",
        "fan_out_in",
        "check this box's cpu + disk and also fetch https://status.example.net/api/nodes — "
        "does this node look worse than the others?",
        [
            sysinfo("local", "cpu", "disk"),
            get("nodes", "https://status.example.net/api/nodes"),
            llm(
                "verdict",
                "Does this node look worse than the others? This node: $local$ "
                "All nodes: $nodes.json$",
                "local",
                "nodes",
            ),
        ],
    ),
    case(
        "regional-sales-merge",
        "fan_out_in",
        "EU sales are at https://api.example.com/sales/eu, US at https://api.example.com/sales/us "
        "and APAC at https://api.example.com/sales/apac. Merge all three into one dataset please.",
        [
            get("eu", "https://api.example.com/sales/eu"),
            get("us", "https://api.example.com/sales/us"),
            get("apac", "https://api.example.com/sales/apac"),
            merge("sales", "eu", "us", "apac"),
        ],
    ),
    case(
        "two-feeds-digest-post",
        "fan_out_in",
        "grab https://news.example.com/rss.json and https://blog.example.org/feed.json, "
        "summarise both together, post the digest to https://hooks.example.com/digest",
        [
            get("news", "https://news.example.com/rss.json"),
            get("blog", "https://blog.example.org/feed.json"),
            llm(
                "digest",
                "Summarise these two feeds together: $news.json$ $blog.json$",
                "news",
                "blog",
            ),
            send(
                "post",
                "POST",
                "https://hooks.example.com/digest",
                {"text": "$digest.text$"},
                "digest",
            ),
        ],
    ),
    case(
        "terms-diff",
        "fan_out_in",
        "what changed between https://example.com/terms and https://example.com/terms-2023? "
        "scrape both and explain the differences in plain words",
        [
            scrape("current", "https://example.com/terms"),
            scrape("old", "https://example.com/terms-2023"),
            llm(
                "diff",
                "Explain in plain words what changed from the old terms to the current ones. "
                "Old: $old.text$ Current: $current.text$",
                "current",
                "old",
            ),
        ],
    ),
    case(
        "team-holidays-then",
        "fan_out_in",
        "First pull https://api.example.net/team/members, then pull "
        "https://api.example.net/team/holidays, then tell me who is off this week.",
        [
            get("members", "https://api.example.net/team/members"),
            get("holidays", "https://api.example.net/team/holidays"),
            llm(
                "off",
                "Who is off this week? Members: $members.json$ Holidays: $holidays.json$",
                "members",
                "holidays",
            ),
        ],
    ),
    case(
        "two-summaries-combined",
        "fan_out_in",
        "summarise https://docs.example.org/a and https://docs.example.org/b separately, then "
        "combine the two summaries into one object",
        [
            scrape("doc_a", "https://docs.example.org/a"),
            scrape("doc_b", "https://docs.example.org/b"),
            llm("sum_a", "Summarise: $doc_a.text$", "doc_a"),
            llm("sum_b", "Summarise: $doc_b.text$", "doc_b"),
            t(
                "combined",
                "transform_executor",
                {"data": {"a": "$sum_a.text$", "b": "$sum_b.text$"}},
                "sum_a",
                "sum_b",
            ),
        ],
    ),
    case(
        "headcount-budget-fields",
        "fan_out_in",
        "Get https://hr.example.com/api/headcount and the budget at "
        "https://finance.example.com/api/budget/2025; combine them into one json with the "
        "fields headcount and budget.",
        [
            get("headcount", "https://hr.example.com/api/headcount"),
            get("budget", "https://finance.example.com/api/budget/2025"),
            t(
                "combined",
                "transform_executor",
                {"data": {"headcount": "$headcount.json$", "budget": "$budget.json$"}},
                "headcount",
                "budget",
            ),
        ],
    ),
]

_BOTH = ("primary", "fallback")


def _optional(final: str | None = None) -> list[list[str]]:
    """The optional edges of a fallback pair (and of the step using whichever arrived)."""
    pairs = [["fallback", "primary"]]
    return pairs + ([[final, "primary"], [final, "fallback"]] if final else [])


FALLBACKS = [
    # -- B only if A fails; the step using whichever arrived depends on both
    case(
        "rates-backup",
        "fallback",
        "grab https://api.example.com/rates, if that's down use https://backup.example.org/rates "
        "instead, and tell me the EUR to USD rate",
        [
            get("primary", "https://api.example.com/rates"),
            get("fallback", "https://backup.example.org/rates", "primary"),
            llm(
                "rate",
                "What is the EUR to USD rate? $primary.json$ $fallback.json$",
                *_BOTH,
            ),
        ],
        optional=_optional("rate"),
    ),
    case(
        "menu-keep-whichever",
        "fallback",
        "scrape https://example.com/menu (fallback: https://example.net/menu if it errors) and "
        "keep whichever worked",
        [
            scrape("primary", "https://example.com/menu"),
            scrape("fallback", "https://example.net/menu", "primary"),
            merge("menu", *_BOTH),
        ],
        optional=_optional("menu"),
    ),
    case(
        "q3-report-archive",
        "fallback",
        "please try take the report from https://reports.example.com/q3.json, when not working "
        "take from https://archive.example.com/q3.json, then do short summary",
        [
            get("primary", "https://reports.example.com/q3.json"),
            get("fallback", "https://archive.example.com/q3.json", "primary"),
            llm("summary", "Short summary of this report: $primary.json$ $fallback.json$", *_BOTH),
        ],
        optional=_optional("summary"),
    ),
    case(
        "mcp-docs-or-scrape",
        "fallback",
        f"search the docs with tool 'search_docs' on {MCP} for 'rate limits'; if the mcp server "
        "fails just scrape https://docs.example.com/rate-limits. then answer: what's the limit "
        "per minute?",
        [
            mcp("primary", MCP, "search_docs", {"query": "rate limits"}),
            scrape("fallback", "https://docs.example.com/rate-limits", "primary"),
            llm(
                "answer",
                "What is the rate limit per minute? $primary.text$ $fallback.text$",
                *_BOTH,
            ),
        ],
        optional=_optional("answer"),
    ),
    case(
        "supplier-prices-post",
        "fallback",
        "fetch the price list from https://supplier-a.example.com/prices.json or, if that fails, "
        "from https://supplier-b.example.net/prices.json; summarise what changed and POST the "
        "summary to https://shop.example.org/api/price-notes",
        [
            get("primary", "https://supplier-a.example.com/prices.json"),
            get("fallback", "https://supplier-b.example.net/prices.json", "primary"),
            llm(
                "summary",
                "Summarise what changed in this price list: $primary.json$ $fallback.json$",
                *_BOTH,
            ),
            send(
                "post",
                "POST",
                "https://shop.example.org/api/price-notes",
                {"text": "$summary.text$"},
                "summary",
            ),
        ],
        optional=_optional("summary"),
    ),
    case(
        "health-eu-or-us",
        "fallback",
        "ping https://eu.api.example.com/health; if it's not answering, ping "
        "https://us.api.example.com/health instead",
        [
            get("primary", "https://eu.api.example.com/health"),
            get("fallback", "https://us.api.example.com/health", "primary"),
        ],
        optional=_optional(),
    ),
    case(
        "profile-cache-db-orders",
        "fallback",
        "load user 314's profile from the cache https://cache.example.com/users/314 and fall "
        "back to https://db.example.com/api/users/314 when the cache fails. also GET "
        "https://db.example.com/api/users/314/orders, and merge profile + orders together",
        [
            get("primary", "https://cache.example.com/users/314"),
            get("fallback", "https://db.example.com/api/users/314", "primary"),
            get("orders", "https://db.example.com/api/users/314/orders"),
            merge("merged", "primary", "fallback", "orders"),
        ],
        optional=_optional("merged"),
    ),
    case(
        "release-notes-mirror",
        "fallback",
        "Summarise the latest release notes — scrape https://example.com/releases/latest, or "
        "https://code.example.org/acme/app/releases if the first one doesn't work.",
        [
            scrape("primary", "https://example.com/releases/latest"),
            scrape("fallback", "https://code.example.org/acme/app/releases", "primary"),
            llm("summary", "Summarise the release notes: $primary.text$ $fallback.text$", *_BOTH),
        ],
        optional=_optional("summary"),
    ),
]

TRANSFORMS = [
    # -- a plain pick / pluck / filter / count / template / merge between two steps
    case(
        "admins-reminder",
        "transform_between",
        "get https://api.example.com/users, keep only the ones with role 'admin', then write "
        "them a short reminder email about the password rotation",
        [
            get("users", "https://api.example.com/users"),
            shape("admins", "$users.json$", {"op": "filter", "where": {"role": "admin"}}, "users"),
            llm(
                "email",
                "Write a short reminder email about the password rotation to these admins: "
                "$admins$",
                "admins",
            ),
        ],
    ),
    case(
        "product-names-index",
        "transform_between",
        "fetch https://api.example.net/products, pull out just the 'name' of each, and POST "
        "that list to https://search.example.net/api/index",
        [
            get("products", "https://api.example.net/products"),
            shape("names", "$products.json$", {"op": "pluck", "path": "name"}, "products"),
            send("index", "POST", "https://search.example.net/api/index", "$names$", "names"),
        ],
    ),
    case(
        "count-orders-gauge",
        "transform_between",
        "grab https://api.example.org/orders?day=2024-06-01, count how many there are and post "
        "the count to https://metrics.example.org/api/gauges/orders",
        [
            get("orders", "https://api.example.org/orders?day=2024-06-01"),
            shape("count", "$orders.json$", {"op": "count"}, "orders"),
            send(
                "gauge",
                "POST",
                "https://metrics.example.org/api/gauges/orders",
                {"value": "$count$"},
                "count",
            ),
        ],
    ),
    case(
        "status-template-chat",
        "transform_between",
        "take the status from https://status.example.com/api/summary, format it as "
        "'Status: {status.indicator}' and send that line to https://chat.example.com/api/messages",
        [
            get("summary", "https://status.example.com/api/summary"),
            shape(
                "line",
                "$summary.json$",
                {"op": "template", "template": "Status: {status.indicator}"},
                "summary",
            ),
            send(
                "send", "POST", "https://chat.example.com/api/messages", {"text": "$line$"}, "line"
            ),
        ],
    ),
    case(
        "repo-health-fields",
        "transform_between",
        "From https://api.example.com/repos/acme/widgets pick the fields stars, forks and "
        "open_issues, and tell me if the project looks healthy.",
        [
            get("repo", "https://api.example.com/repos/acme/widgets"),
            shape(
                "stats",
                "$repo.json$",
                {
                    "op": "pick",
                    "fields": {"stars": "stars", "forks": "forks", "open_issues": "open_issues"},
                },
                "repo",
            ),
            llm("health", "Does this project look healthy? $stats$", "stats"),
        ],
    ),
    case(
        "merge-configs-put",
        "transform_between",
        "merge https://api.example.com/config/base.json with "
        "https://api.example.com/config/prod.json into one config and PUT the result to "
        "https://api.example.com/config/effective",
        [
            get("base", "https://api.example.com/config/base.json"),
            get("prod", "https://api.example.com/config/prod.json"),
            merge("merged", "base", "prod"),
            send(
                "effective", "PUT", "https://api.example.com/config/effective", "$merged$", "merged"
            ),
        ],
    ),
    case(
        "pdf-links-only",
        "transform_between",
        "scrape https://example.org/downloads and give me only the links whose text is "
        "'Download PDF'",
        [
            scrape("downloads", "https://example.org/downloads"),
            shape(
                "pdfs",
                "$downloads.links$",
                {"op": "filter", "where": {"text": "Download PDF"}},
                "downloads",
            ),
        ],
    ),
    case(
        "sales-staff-thanks",
        "transform_between",
        "please to get the employee list https://hr.example.com/api/employees, filter for "
        "department 'Sales', and make from them a nice thank you message",
        [
            get("employees", "https://hr.example.com/api/employees"),
            shape(
                "sales",
                "$employees.json$",
                {"op": "filter", "where": {"department": "Sales"}},
                "employees",
            ),
            llm("thanks", "Write a nice thank-you message to these colleagues: $sales$", "sales"),
        ],
    ),
    case(
        "event-dates-first",
        "transform_between",
        "have the llm extract all event dates from https://example.com/events as a json list, "
        "then just take the first one",
        [
            scrape("events", "https://example.com/events"),
            t(
                "dates",
                "llm_executor",
                {
                    "prompt": "Extract all event dates as a JSON list: $events.text$",
                    "json_output": True,
                },
                "events",
            ),
            shape("first", "$dates.json$", {"op": "pick", "path": "0"}, "dates"),
        ],
    ),
    case(
        "python-version-inventory",
        "transform_between",
        "read this machine's python info, pick out only the version, and PUT it to "
        "https://inventory.example.net/api/hosts/build-07",
        [
            sysinfo("info", "python"),
            shape("version", "$info.python$", {"op": "pick", "path": "version"}, "info"),
            send(
                "record",
                "PUT",
                "https://inventory.example.net/api/hosts/build-07",
                {"python": "$version$"},
                "version",
            ),
        ],
    ),
]

MCP_CASES = [
    # -- MCP tools; create/send/update/delete tools are writes
    case(
        "mcp-create-then-list",
        "mcp",
        f"call 'create_issue' on {MCP} with title 'Login broken on Safari', then call "
        "'list_issues' on the same server to confirm it's there",
        [
            mcp("create", MCP, "create_issue", {"title": "Login broken on Safari"}),
            mcp("issues", MCP, "list_issues", None, "create"),
        ],
    ),
    case(
        "mcp-search-summarise",
        "mcp",
        "use the github mcp (https://mcp.example.org/github/mcp), tool 'search_repositories' "
        "with query 'apflow', and summarise the top hits",
        [
            mcp(
                "search",
                "https://mcp.example.org/github/mcp",
                "search_repositories",
                {"query": "apflow"},
            ),
            llm("summary", "Summarise the top hits: $search.text$", "search"),
        ],
    ),
    case(
        "scrape-to-notes-mcp",
        "mcp",
        "scrape https://example.com/status and save the text to our notes server "
        "https://notes.example.net/mcp with the tool 'add_note'",
        [
            scrape("status", "https://example.com/status"),
            mcp(
                "note",
                "https://notes.example.net/mcp",
                "add_note",
                {"text": "$status.text$"},
                "status",
            ),
        ],
    ),
    case(
        "calendar-weather-advice",
        "mcp",
        "hey can u fetch my calendar via the mcp at https://mcp.example.com/calendar/mcp (tool "
        "'list_events', date '2024-07-01') and ALSO the weather from "
        "https://weather.example.com/v1/today, then tell me if my outdoor meeting is a bad idea",
        [
            mcp(
                "events",
                "https://mcp.example.com/calendar/mcp",
                "list_events",
                {"date": "2024-07-01"},
            ),
            get("weather", "https://weather.example.com/v1/today"),
            llm(
                "advice",
                "Is my outdoor meeting a bad idea? Events: $events.text$ Weather: $weather.json$",
                "events",
                "weather",
            ),
        ],
    ),
    case(
        "ticket-summarise-close",
        "mcp",
        "Look up ticket 'INC-2291' with the tool 'get_ticket' on https://mcp.example.net/mcp, "
        "summarise it, then close it with 'close_ticket' on the same server, using the summary "
        "as the resolution note.",
        [
            mcp("ticket", "https://mcp.example.net/mcp", "get_ticket", {"id": "INC-2291"}),
            llm("summary", "Summarise this ticket: $ticket.text$", "ticket"),
            mcp(
                "close",
                "https://mcp.example.net/mcp",
                "close_ticket",
                {"id": "INC-2291", "resolution": "$summary.text$"},
                "summary",
            ),
        ],
    ),
    case(
        "mcp-customers-invoices-merge",
        "mcp",
        f"run 'get_customers' and 'get_invoices' on {MCP} and merge the two results",
        [
            mcp("customers", MCP, "get_customers"),
            mcp("invoices", MCP, "get_invoices"),
            merge("merged", "customers", "invoices"),
        ],
    ),
]

SINGLES = [
    case(
        "careers-text",
        "single",
        "grab the text of https://example.net/careers",
        [scrape("careers", "https://example.net/careers")],
    ),
    case(
        "delete-upload",
        "single",
        "DELETE https://api.example.com/tmp/uploads/abc123 pls",
        [send("delete", "DELETE", "https://api.example.com/tmp/uploads/abc123")],
    ),
    case(
        "ram-question",
        "single",
        "how much ram does this machine have?",
        [sysinfo("memory", "memory")],
    ),
    case(
        "devops-limerick",
        "single",
        "write a limerick about a cat who does devops",
        [llm("limerick", "Write a limerick about a cat who does devops.")],
    ),
    case(
        "track-event",
        "single",
        'post {"event": "signup", "plan": "pro"} to https://track.example.org/api/events',
        [
            send(
                "track",
                "POST",
                "https://track.example.org/api/events",
                {"event": "signup", "plan": "pro"},
            )
        ],
    ),
    case(
        "ping-chatty",
        "single",
        "hey, can you check whether https://api.example.com/v1/ping answers?",
        [get("ping", "https://api.example.com/v1/ping")],
    ),
]

LOOKUPS = [
    # -- a lookup whose output a later step needs (an id, a link, coordinates)
    case(
        "user-by-email-orders",
        "lookup_chain",
        "look up the user with email 'ana@example.com' at https://api.example.com/users, then get "
        "her orders from https://api.example.com/orders using her id",
        [
            t(
                "user",
                "rest_executor",
                {
                    "url": "https://api.example.com/users",
                    "method": "GET",
                    "query": {"email": "ana@example.com"},
                },
            ),
            t(
                "orders",
                "rest_executor",
                {
                    "url": "https://api.example.com/orders",
                    "method": "GET",
                    "query": {"user_id": "$user.json.id$"},
                },
                "user",
            ),
        ],
    ),
    case(
        "release-tag-changelog",
        "lookup_chain",
        "get the latest release tag from "
        "https://api.example.org/repos/acme/app/releases/latest, download the changelog for "
        "that tag from https://api.example.org/repos/acme/app/changelog and summarise it",
        [
            get("release", "https://api.example.org/repos/acme/app/releases/latest"),
            t(
                "changelog",
                "rest_executor",
                {
                    "url": "https://api.example.org/repos/acme/app/changelog",
                    "method": "GET",
                    "query": {"tag": "$release.json.tag_name$"},
                },
                "release",
            ),
            llm("summary", "Summarise this changelog: $changelog.text$", "changelog"),
        ],
    ),
    case(
        "geocode-then-forecast",
        "lookup_chain",
        "first you search the city 'Lyon' in https://geo.example.com/api/search, then with the "
        "coordinates you get the forecast from https://weather.example.net/api/forecast",
        [
            t(
                "city",
                "rest_executor",
                {
                    "url": "https://geo.example.com/api/search",
                    "method": "GET",
                    "query": {"q": "Lyon"},
                },
            ),
            t(
                "forecast",
                "rest_executor",
                {
                    "url": "https://weather.example.net/api/forecast",
                    "method": "GET",
                    "query": {"lat": "$city.json.lat$", "lon": "$city.json.lon$"},
                },
                "city",
            ),
        ],
    ),
    case(
        "blog-first-post",
        "lookup_chain",
        "scrape https://example.com/blog, follow the first post link, scrape that post and "
        "summarise it",
        [
            scrape("blog", "https://example.com/blog"),
            t("post", "scrape_executor", {"url": "$blog.links.0.url$"}, "blog"),
            llm("summary", "Summarise this post: $post.text$", "post"),
        ],
    ),
    case(
        "project-id-archive",
        "lookup_chain",
        "Find the id of the project named 'Apollo' "
        "(https://pm.example.com/api/projects?name=Apollo) and archive it: POST its id to https://pm.example.com/api/projects/archive.",
        [
            get("project", "https://pm.example.com/api/projects?name=Apollo"),
            send(
                "archive",
                "POST",
                "https://pm.example.com/api/projects/archive",
                {"id": "$project.json.id$"},
                "project",
            ),
        ],
    ),
    case(
        "channel-lookup-post",
        "lookup_chain",
        "find the channel id of '#ops' with tool 'find_channel' on "
        "https://mcp.example.com/slack/mcp and post 'backup done' there with 'post_message'",
        [
            mcp("channel", "https://mcp.example.com/slack/mcp", "find_channel", {"name": "#ops"}),
            mcp(
                "post",
                "https://mcp.example.com/slack/mcp",
                "post_message",
                {"channel": "$channel.text$", "text": "backup done"},
                "channel",
            ),
        ],
    ),
]

COLLAPSED = [
    # -- several things to fetch named in one phrase: one task each, then what uses them all
    case(
        "compare-three-plans",
        "collapsed_steps",
        "scrape https://example.com/plans, https://example.net/plans and "
        "https://example.org/plans then compare them",
        [
            scrape("plans_com", "https://example.com/plans"),
            scrape("plans_net", "https://example.net/plans"),
            scrape("plans_org", "https://example.org/plans"),
            llm(
                "compare",
                "Compare these plans: $plans_com.text$ $plans_net.text$ $plans_org.text$",
                "plans_com",
                "plans_net",
                "plans_org",
            ),
        ],
    ),
    case(
        "stats-years-trend",
        "collapsed_steps",
        "grab https://api.example.com/stats/2022, /2023 and /2024 from the same api and tell me "
        "the trend",
        [
            get("y2022", "https://api.example.com/stats/2022"),
            get("y2023", "https://api.example.com/stats/2023"),
            get("y2024", "https://api.example.com/stats/2024"),
            llm(
                "trend",
                "What is the trend? 2022: $y2022.json$ 2023: $y2023.json$ 2024: $y2024.json$",
                "y2022",
                "y2023",
                "y2024",
            ),
        ],
    ),
    case(
        "docs-one-summary",
        "collapsed_steps",
        "please read the pages https://docs.example.org/install, https://docs.example.org/config, "
        "https://docs.example.org/deploy and make one summary of all",
        [
            scrape("install", "https://docs.example.org/install"),
            scrape("config", "https://docs.example.org/config"),
            scrape("deploy", "https://docs.example.org/deploy"),
            llm(
                "summary",
                "One summary of these pages: $install.text$ $config.text$ $deploy.text$",
                "install",
                "config",
                "deploy",
            ),
        ],
    ),
    case(
        "users-two-tenants-merge",
        "collapsed_steps",
        "fetch the users from https://a.example.com/api/users and https://b.example.com/api/users "
        "and merge them into one list",
        [
            get("users_a", "https://a.example.com/api/users"),
            get("users_b", "https://b.example.com/api/users"),
            merge("users", "users_a", "users_b"),
        ],
    ),
    case(
        "health-bullets",
        "collapsed_steps",
        "check these and tell me which ones look unhealthy:\n"
        "* https://example.com/health\n"
        "* https://example.net/health\n"
        "* https://example.org/health\n"
        "* https://status.example.com/health",
        [
            get("h_com", "https://example.com/health"),
            get("h_net", "https://example.net/health"),
            get("h_org", "https://example.org/health"),
            get("h_status", "https://status.example.com/health"),
            llm(
                "verdict",
                "Which of these look unhealthy? $h_com.json$ $h_net.json$ $h_org.json$ "
                "$h_status.json$",
                "h_com",
                "h_net",
                "h_org",
                "h_status",
            ),
        ],
    ),
    case(
        "translate-each-about",
        "collapsed_steps",
        "translate each of https://example.com/fr/about and https://example.com/de/about into "
        "english",
        [
            scrape("fr", "https://example.com/fr/about"),
            scrape("de", "https://example.com/de/about"),
            llm("fr_en", "Translate into English: $fr.text$", "fr"),
            llm("de_en", "Translate into English: $de.text$", "de"),
        ],
    ),
]

CASES = (
    SIDE_EFFECTS + FAN_OUT_IN + FALLBACKS + TRANSFORMS + MCP_CASES + SINGLES + LOOKUPS + COLLAPSED
)
