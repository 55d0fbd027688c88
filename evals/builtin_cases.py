"""The built-in eval cases (gold trees over apflow's own executors) and expected tool schemas.

Gold references use the dataset convention ``$task_id.field$`` (field of that task's result).
The aggregator root is implied and never listed as a gold task.
"""

from __future__ import annotations

TOOLS = [
    "command_executor",
    "llm_executor",
    "mcp_tool_executor",
    "rest_executor",
    "scrape_executor",
    "system_info_executor",
    "transform_executor",
]

_S = {"type": "string"}
FALLBACK_SCHEMAS = {
    "rest_executor": {
        "description": "HTTP request to a URL; returns status, headers, JSON or text.",
        "input_schema": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "http(s) URL"},
                "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "headers": {"type": "object"},
                "params": {"type": "object", "description": "query parameters"},
                "json": {"description": "JSON request body"},
                "timeout": {"type": "number"},
            },
            "required": ["url"],
        },
        "output_schema": {
            "type": "object",
            "properties": {
                "status_code": {"type": "integer"},
                "headers": {"type": "object"},
                "json": {},
                "text": _S,
            },
        },
    },
    "scrape_executor": {
        "description": "Fetch a web page; return its title, main text and links.",
        "input_schema": {
            "type": "object",
            "properties": {"url": _S, "max_chars": {"type": "integer"}},
            "required": ["url"],
        },
        "output_schema": {
            "type": "object",
            "properties": {"url": _S, "title": _S, "text": _S, "links": {"type": "array"}},
        },
    },
    "llm_executor": {
        "description": "One chat completion; the prompt may reference earlier results.",
        "input_schema": {
            "type": "object",
            "properties": {
                "prompt": _S,
                "system": _S,
                "model": _S,
                "json_output": {"type": "boolean"},
            },
            "required": ["prompt"],
        },
        "output_schema": {"type": "object", "properties": {"text": _S, "json": {}}},
    },
    "transform_executor": {
        "description": "Shape data without code: pick fields, merge, filter a list, template text.",
        "input_schema": {
            "type": "object",
            "properties": {
                "data": {},
                "sources": {"type": "array", "items": _S},
                "operations": {"type": "array", "items": {"type": "object"}},
            },
        },
        "output_schema": {"type": "object", "properties": {"result": {}}},
    },
    "system_info_executor": {
        "description": "CPU, memory, disk, Python and OS facts of this machine.",
        "input_schema": {
            "type": "object",
            "properties": {
                "sections": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["cpu", "memory", "disk", "python", "os"]},
                }
            },
        },
        "output_schema": {
            "type": "object",
            "properties": {
                "cpu": {"type": "object"},
                "memory": {"type": "object"},
                "disk": {"type": "object"},
                "python": {"type": "object"},
                "os": {"type": "object"},
            },
        },
    },
    "mcp_tool_executor": {
        "description": "Call one tool on an MCP server (stdio command or HTTP URL).",
        "input_schema": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "streamable-HTTP endpoint"},
                "tool": _S,
                "arguments": {"type": "object"},
            },
            "required": ["tool"],
        },
        "output_schema": {
            "type": "object",
            "properties": {"content": {}, "text": _S, "is_error": {"type": "boolean"}},
        },
    },
    "command_executor": {
        "description": "Run an allow-listed command without a shell (disabled by default).",
        "input_schema": {
            "type": "object",
            "properties": {
                "argv": {"type": "array", "items": _S},
                "cwd": _S,
                "timeout": {"type": "number"},
            },
            "required": ["argv"],
        },
        "output_schema": {
            "type": "object",
            "properties": {"returncode": {"type": "integer"}, "stdout": _S, "stderr": _S},
        },
    },
}


def t(id: str, tool: str, inputs: dict, *deps: str) -> dict:
    return {"id": id, "tool": tool, "inputs": inputs, "depends_on": list(deps)}


def get(id: str, url: str, *deps: str) -> dict:
    return t(id, "rest_executor", {"url": url, "method": "GET"}, *deps)


def scrape(id: str, url: str, *deps: str) -> dict:
    return t(id, "scrape_executor", {"url": url}, *deps)


def llm(id: str, prompt: str, *deps: str) -> dict:
    return t(id, "llm_executor", {"prompt": prompt}, *deps)


def merge(id: str, *deps: str) -> dict:
    return t(id, "transform_executor", {"sources": list(deps)}, *deps)


def send(id: str, method: str, url: str, body=None, *deps: str) -> dict:
    """A writing HTTP call (POST/PUT/PATCH/DELETE); ``body`` goes to ``json`` when given."""
    inputs = {"url": url, "method": method}
    if body is not None:
        inputs["json"] = body
    return t(id, "rest_executor", inputs, *deps)


def mcp(id: str, url: str, tool: str, arguments: dict | None = None, *deps: str) -> dict:
    inputs = {"url": url, "tool": tool}
    if arguments is not None:
        inputs["arguments"] = arguments
    return t(id, "mcp_tool_executor", inputs, *deps)


def case(
    id: str, pattern: str, request: str, tasks: list[dict], *, prefix: str = "builtin", **meta
) -> dict:
    return {
        "id": f"{prefix}-{id}",
        "pattern": pattern,
        "request": request,
        "tasks": tasks,
        "meta": meta,
    }


API = "https://api.example.com"
CASES = [
    # -- parallel fetches, then merge -------------------------------------------------------
    case(
        "parallel-users-orders",
        "parallel_merge",
        f"Fetch user data from {API}/users and order data from {API}/orders in parallel, "
        "and collect both results.",
        [get("users", f"{API}/users"), get("orders", f"{API}/orders")],
    ),
    case(
        "parallel-three-feeds",
        "parallel_merge",
        "Get the JSON from https://feeds.example.org/a.json, https://feeds.example.org/b.json "
        "and https://feeds.example.org/c.json at the same time and return all three.",
        [
            get("feed_a", "https://feeds.example.org/a.json"),
            get("feed_b", "https://feeds.example.org/b.json"),
            get("feed_c", "https://feeds.example.org/c.json"),
        ],
    ),
    case(
        "parallel-weather",
        "parallel_merge",
        "Call https://weather.example.com/today?city=paris and "
        "https://weather.example.com/today?city=berlin in parallel and merge both forecasts "
        "into one object.",
        [
            get("paris", "https://weather.example.com/today?city=paris"),
            get("berlin", "https://weather.example.com/today?city=berlin"),
            merge("forecasts", "paris", "berlin"),
        ],
    ),
    case(
        "parallel-products-prices",
        "parallel_merge",
        f"In parallel, GET {API}/products and {API}/prices, then ask the LLM "
        "which products are the cheapest.",
        [
            get("products", f"{API}/products"),
            get("prices", f"{API}/prices"),
            llm(
                "cheapest",
                "Which products are the cheapest? Products: $products.json$ Prices: $prices.json$",
                "products",
                "prices",
            ),
        ],
    ),
    case(
        "parallel-status-pages",
        "parallel_merge",
        "Check https://status.example.com/api/v2/status.json and "
        "https://status.example.net/api/v2/status.json at the same time and put the two "
        "statuses together.",
        [
            get("status_com", "https://status.example.com/api/v2/status.json"),
            get("status_net", "https://status.example.net/api/v2/status.json"),
        ],
    ),
    case(
        "parallel-repo-issues",
        "parallel_merge",
        f"Fetch {API}/repos/apflow and {API}/repos/apflow/issues in parallel and merge "
        "them into one record.",
        [
            get("repo", f"{API}/repos/apflow"),
            get("issues", f"{API}/repos/apflow/issues"),
            merge("record", "repo", "issues"),
        ],
    ),
    # -- scrape, LLM-analyse, aggregate -------------------------------------------------------
    case(
        "scrape-analyse-blog",
        "scrape_analyse",
        "Scrape https://blog.example.com/post/42, analyse the content with an LLM, then "
        "aggregate both results into a final report.",
        [
            scrape("page", "https://blog.example.com/post/42"),
            llm("analysis", "Analyse this article: $page.text$", "page"),
        ],
    ),
    case(
        "scrape-summarise-docs",
        "scrape_analyse",
        "Summarise the page https://docs.example.com/getting-started in three bullet points.",
        [
            scrape("page", "https://docs.example.com/getting-started"),
            llm("summary", "Summarise in three bullet points: $page.text$", "page"),
        ],
    ),
    case(
        "scrape-sentiment-reviews",
        "scrape_analyse",
        "Scrape the reviews at https://shop.example.com/item/7/reviews and have the LLM "
        "classify their overall sentiment.",
        [
            scrape("reviews", "https://shop.example.com/item/7/reviews"),
            llm(
                "sentiment",
                "Classify the overall sentiment of these reviews: $reviews.text$",
                "reviews",
            ),
        ],
    ),
    case(
        "scrape-extract-prices",
        "scrape_analyse",
        "Read https://shop.example.com/deals and use an LLM to extract every product name "
        "with its price as JSON.",
        [
            scrape("deals", "https://shop.example.com/deals"),
            t(
                "prices",
                "llm_executor",
                {
                    "prompt": "Extract every product name with its price as JSON: $deals.text$",
                    "json_output": True,
                },
                "deals",
            ),
        ],
    ),
    case(
        "scrape-links-analyse",
        "scrape_analyse",
        "Scrape https://news.example.com, list the links it has and ask the LLM which "
        "ones look like news articles.",
        [
            scrape("front", "https://news.example.com"),
            llm("articles", "Which of these links look like news articles? $front.links$", "front"),
        ],
    ),
    # -- sequential pipelines ------------------------------------------------------------------
    case(
        "seq-fetch-pick-summarise",
        "sequential",
        f"Fetch {API}/reports/latest, pick the fields title and total from it, then "
        "write a one-paragraph summary with the LLM.",
        [
            get("report", f"{API}/reports/latest"),
            t(
                "fields",
                "transform_executor",
                {
                    "data": "$report.json$",
                    "operations": [{"op": "pick", "fields": {"title": "title", "total": "total"}}],
                },
                "report",
            ),
            llm("summary", "Write a one-paragraph summary: $fields$", "fields"),
        ],
    ),
    case(
        "seq-scrape-summarise-post",
        "sequential",
        "Scrape https://blog.example.com/release-notes, summarise it with the LLM, and POST "
        f"the summary to {API}/notes.",
        [
            scrape("notes_page", "https://blog.example.com/release-notes"),
            llm("summary", "Summarise: $notes_page.text$", "notes_page"),
            t(
                "post",
                "rest_executor",
                {"url": f"{API}/notes", "method": "POST", "json": {"text": "$summary.text$"}},
                "summary",
            ),
        ],
    ),
    case(
        "seq-filter-active-users",
        "sequential",
        f"Get the users from {API}/users, keep only those whose status is active, then "
        "count them with the LLM.",
        [
            get("users", f"{API}/users"),
            t(
                "active",
                "transform_executor",
                {
                    "data": "$users.json$",
                    "operations": [{"op": "filter", "where": {"status": "active"}}],
                },
                "users",
            ),
            llm("count", "How many users are listed here? $active$", "active"),
        ],
    ),
    case(
        "seq-translate-page",
        "sequential",
        "Take the text of https://example.com/about, translate it to French with the LLM, "
        "then format it with the template 'FR: {text}'.",
        [
            scrape("about", "https://example.com/about"),
            llm("french", "Translate to French: $about.text$", "about"),
            t(
                "formatted",
                "transform_executor",
                {
                    "data": {"text": "$french.text$"},
                    "operations": [{"op": "template", "template": "FR: {text}"}],
                },
                "french",
            ),
        ],
    ),
    case(
        "seq-sysinfo-report",
        "sequential",
        "Collect CPU and memory information of this machine and have the LLM write a short "
        "health report about it.",
        [
            t("info", "system_info_executor", {"sections": ["cpu", "memory"]}),
            llm("report", "Write a short health report for this machine: $info$", "info"),
        ],
    ),
    case(
        "seq-fetch-post",
        "sequential",
        f"Download the config from {API}/config and send it with a POST to "
        "https://backup.example.com/configs.",
        [
            get("config", f"{API}/config"),
            t(
                "backup",
                "rest_executor",
                {
                    "url": "https://backup.example.com/configs",
                    "method": "POST",
                    "json": "$config.json$",
                },
                "config",
            ),
        ],
    ),
    # -- fallbacks with optional dependencies ----------------------------------------------------
    case(
        "fallback-mirror",
        "fallback",
        f"Fetch {API}/data; if that fails, fetch the mirror https://mirror.example.com/data "
        "instead; then merge whichever succeeded.",
        [
            get("primary", f"{API}/data"),
            get("mirror", "https://mirror.example.com/data", "primary"),
            merge("data", "primary", "mirror"),
        ],
        optional=[["mirror", "primary"], ["data", "primary"], ["data", "mirror"]],
    ),
    case(
        "fallback-scrape-cache",
        "fallback",
        "Scrape https://example.com/pricing, and if the scrape fails fall back to "
        "https://cache.example.com/pricing; summarise whichever page worked with the LLM.",
        [
            scrape("live", "https://example.com/pricing"),
            scrape("cached", "https://cache.example.com/pricing", "live"),
            llm("summary", "Summarise the pricing: $live.text$ $cached.text$", "live", "cached"),
        ],
        optional=[["cached", "live"], ["summary", "live"], ["summary", "cached"]],
    ),
    case(
        "fallback-optional-enrich",
        "fallback",
        f"Get the orders from {API}/orders, optionally enrich them with "
        f"{API}/customers (it is fine if that fails), then summarise the orders with the LLM.",
        [
            get("orders", f"{API}/orders"),
            get("customers", f"{API}/customers"),
            llm(
                "summary",
                "Summarise these orders: $orders.json$ $customers.json$",
                "orders",
                "customers",
            ),
        ],
        optional=[["summary", "customers"]],
    ),
    case(
        "fallback-two-weather",
        "fallback",
        "Try the weather API https://weather.example.com/now first and, only if it fails, "
        "https://backup-weather.example.com/now; report the weather with the LLM either way.",
        [
            get("main", "https://weather.example.com/now"),
            get("backup", "https://backup-weather.example.com/now", "main"),
            llm(
                "report", "Report the current weather: $main.json$ $backup.json$", "main", "backup"
            ),
        ],
        optional=[["backup", "main"], ["report", "main"], ["report", "backup"]],
    ),
    # -- fan-out over several URLs ---------------------------------------------------------------
    case(
        "fanout-three-competitors",
        "fan_out",
        "Scrape https://a.example.com, https://b.example.com and https://c.example.com and "
        "have the LLM compare the three companies.",
        [
            scrape("a", "https://a.example.com"),
            scrape("b", "https://b.example.com"),
            scrape("c", "https://c.example.com"),
            llm(
                "compare",
                "Compare these three companies: $a.text$ $b.text$ $c.text$",
                "a",
                "b",
                "c",
            ),
        ],
    ),
    case(
        "fanout-four-docs",
        "fan_out",
        "Read the four pages https://docs.example.com/1, https://docs.example.com/2, "
        "https://docs.example.com/3 and https://docs.example.com/4 and collect their titles.",
        [
            scrape("d1", "https://docs.example.com/1"),
            scrape("d2", "https://docs.example.com/2"),
            scrape("d3", "https://docs.example.com/3"),
            scrape("d4", "https://docs.example.com/4"),
        ],
    ),
    case(
        "fanout-summaries",
        "fan_out",
        "For each of https://news.example.com/a and https://news.example.com/b, scrape the "
        "article and summarise it separately with the LLM.",
        [
            scrape("art_a", "https://news.example.com/a"),
            scrape("art_b", "https://news.example.com/b"),
            llm("sum_a", "Summarise: $art_a.text$", "art_a"),
            llm("sum_b", "Summarise: $art_b.text$", "art_b"),
        ],
    ),
    case(
        "fanout-api-endpoints",
        "fan_out",
        f"Call {API}/v1/health, {API}/v2/health and {API}/v3/health and merge the three "
        "health checks into one object.",
        [
            get("v1", f"{API}/v1/health"),
            get("v2", f"{API}/v2/health"),
            get("v3", f"{API}/v3/health"),
            merge("health", "v1", "v2", "v3"),
        ],
    ),
    # -- single-executor trivial cases -----------------------------------------------------------
    case(
        "single-sysinfo",
        "single",
        "Show me the system information of this machine.",
        [t("info", "system_info_executor", {})],
    ),
    case("single-get", "single", f"GET {API}/ping.", [get("ping", f"{API}/ping")]),
    case(
        "single-scrape",
        "single",
        "Scrape https://example.com and give me its text.",
        [scrape("page", "https://example.com")],
    ),
    case(
        "single-llm",
        "single",
        "Ask the LLM to write a haiku about autumn.",
        [llm("haiku", "Write a haiku about autumn.")],
    ),
    case(
        "single-mcp",
        "single",
        "Call the tool 'search' on the MCP server at https://mcp.example.com/mcp with the "
        "query 'apflow'.",
        [
            t(
                "search",
                "mcp_tool_executor",
                {
                    "url": "https://mcp.example.com/mcp",
                    "tool": "search",
                    "arguments": {"query": "apflow"},
                },
            )
        ],
    ),
    case(
        "single-disk",
        "single",
        "How much disk space is free on this machine?",
        [t("disk", "system_info_executor", {"sections": ["disk"]})],
    ),
    # -- MCP and commands in pipelines -----------------------------------------------------------
    case(
        "mcp-then-llm",
        "sequential",
        "Use the MCP server at https://mcp.example.com/mcp to call the tool 'list_tickets', "
        "then have the LLM pick the three most urgent tickets.",
        [
            t(
                "tickets",
                "mcp_tool_executor",
                {"url": "https://mcp.example.com/mcp", "tool": "list_tickets"},
            ),
            llm("urgent", "Pick the three most urgent tickets: $tickets.text$", "tickets"),
        ],
    ),
    case(
        "command-git-log",
        "sequential",
        "Run the command `git log --oneline -n 5` and summarise the recent commits with the LLM.",
        [
            t("log", "command_executor", {"argv": ["git", "log", "--oneline", "-n", "5"]}),
            llm("summary", "Summarise these commits: $log.stdout$", "log"),
        ],
        needs_commands=True,
    ),
    # -- vague requirements: a small sensible tree, not nonsense ----------------------------------
    case(
        "vague-machine-health",
        "vague",
        "Check how my computer is doing.",
        [t("info", "system_info_executor", {})],
    ),
    case(
        "vague-website",
        "vague",
        "Tell me what https://example.org is about.",
        [
            scrape("site", "https://example.org"),
            llm("about", "What is this website about? $site.text$", "site"),
        ],
    ),
    case(
        "vague-api-data",
        "vague",
        f"Get some data from {API}/data and do something useful with it.",
        [
            get("data", f"{API}/data"),
            llm("insight", "Describe what is useful in this data: $data.json$", "data"),
        ],
    ),
    case(
        "vague-poem",
        "vague",
        "Something creative, please.",
        [llm("creative", "Write a short creative piece.")],
    ),
]
