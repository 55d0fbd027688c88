"""scrape_executor: fetch a web page and return its title, main text and links.

Parsing uses selectolax's lexbor backend: a maintained, standards-compliant HTML5 parser in
C with CSS selectors, already an apflow dependency, and fast enough to parse a capped page in
milliseconds without a thread. trafilatura extracts articles a little better but pulls in lxml
and a dozen other packages; beautifulsoup4 is pure Python and several times slower. Boilerplate
removal here is structural: script/style/nav/header/footer/aside elements are dropped and
the text comes from ``<main>``/``<article>`` when the page has one.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from apflow.core.executor import BaseTask, completed, failed
from apflow.executors._fetch import fetch
from apflow.executors._net import NetError, redact_url
from apflow.executors.http import charset_of, status_failure

# Not <form>: ASP.NET and similar pages wrap their whole body in one.
_DROP = "script,style,noscript,template,svg,iframe,nav,header,footer,aside,[hidden]"
_BLOCKS = "p,h1,h2,h3,h4,h5,h6,li,dt,dd,div,br,tr,pre,blockquote,section,article,figcaption"
_MAIN = ("main", "article", "[role=main]")
_BREAK = "\u2029"  # marks block ends, so newlines inside the HTML source stay spaces
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


class ScrapeExecutor(BaseTask):
    id = "scrape_executor"
    effects = "read"
    unasked_inputs = ("selector", "max_links", "include_links")
    name = "Scrape web page"
    description = (
        "Read a web page (HTML) and return its title, main text (boilerplate removed) and "
        "links: for pages to read, scrape or summarise."
    )
    input_schema = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "page URL (http or https)"},
            "selector": {
                "type": "string",
                "description": "optional CSS selector for the content to extract, e.g. '#content'",
            },
            "include_links": {"type": "boolean", "default": True, "description": "return links"},
            "max_links": {
                "type": "integer",
                "minimum": 0,
                "default": 200,
                "description": "return at most this many links",
            },
            "max_chars": {
                "type": "integer",
                "minimum": 1,
                "default": 20000,
                "description": "cut the main text to this many characters",
            },
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 300,
                "default": 20,
                "description": "seconds for the download, redirects included",
            },
            "max_bytes": {
                "type": "integer",
                "minimum": 1,
                "default": 2 * 1024 * 1024,
                "description": "stop downloading past this many bytes (page is then truncated)",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "final URL after redirects"},
            "status_code": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string", "description": "meta description, if any"},
            "text": {"type": "string", "description": "main text, one block per line"},
            "links": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"url": {"type": "string"}, "text": {"type": "string"}},
                },
            },
            "truncated": {"type": "boolean", "description": "page or text was cut at a limit"},
        },
    }

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        try:
            got = await fetch(
                "GET",
                inputs["url"],
                headers={"Accept": "text/html,application/xhtml+xml,text/plain;q=0.8"},
                timeout=float(inputs.get("timeout", 20)),
                max_bytes=int(inputs.get("max_bytes", 2 * 1024 * 1024)),
                truncate=True,
            )
        except NetError as exc:
            return failed(str(exc), exc.error_type, retryable=exc.retryable)
        if not 200 <= got.status_code < 300:
            return status_failure(got, f"GET {redact_url(got.url)} returned {got.status_code}")
        ctype = got.headers.get("content-type", "text/html").lower()
        html = got.body.decode(charset_of(ctype), errors="replace")
        max_links = int(inputs.get("max_links", 200)) if inputs.get("include_links", True) else 0
        if "html" in ctype or "xml" in ctype:
            try:
                # Parsing a few MiB takes tens of ms: off the loop, so other tasks keep running.
                page = await asyncio.to_thread(
                    extract, html, got.url, inputs.get("selector"), max_links
                )
            except LookupError as exc:
                return failed(f"{exc} on {got.url}", "not_found")
            except ValueError as exc:
                return failed(f"invalid selector: {exc}", "validation_error")
        elif ctype.startswith("text/"):
            page = {"title": "", "description": "", "text": _clean(html), "links": []}
        else:
            return failed(
                f"{got.url} is {ctype.split(';')[0]}, not a web page", "unsupported_content"
            )
        max_chars = int(inputs.get("max_chars", 20000))
        cut = len(page["text"]) > max_chars
        page["text"] = page["text"][:max_chars]
        return completed(
            {
                "url": got.url,
                "status_code": got.status_code,
                **page,
                "truncated": cut or got.truncated,
            }
        )


def extract(
    html: str, base_url: str, selector: str | None = None, max_links: int = 200
) -> dict[str, Any]:
    """Title, meta description, main text and up to ``max_links`` absolute links."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = _clean(title_node.text()) if title_node else ""
    meta = tree.css_first('meta[name="description"]')
    description = (meta.attributes.get("content") or "").strip() if meta else ""
    base = tree.css_first("base[href]")
    if base:
        base_url = urljoin(base_url, base.attributes.get("href") or "")
    for node in tree.css(_DROP):
        node.decompose()
    root = None
    if selector:
        try:
            root = tree.css_first(selector)
        except Exception as exc:  # selectolax raises its own SelectolaxError
            raise ValueError(f"{selector!r}: {exc}") from None
        if root is None:
            raise LookupError(f"no element matches selector {selector!r}")
    for candidate in () if root else _MAIN:
        root = tree.css_first(candidate)
        if root:
            break
    root = root or tree.body or tree.root
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for a in root.css("a[href]") if root and max_links else []:
        if len(links) >= max_links:  # urljoin dominates on link-heavy pages
            break
        href = urldefrag(urljoin(base_url, (a.attributes.get("href") or "").strip()))[0]
        if urlsplit(href).scheme in {"http", "https"} and href not in seen:
            seen.add(href)
            links.append({"url": href, "text": _clean(a.text())})
    for node in root.css(_BLOCKS) if root else []:
        node.insert_after(_BREAK)
    raw = root.text(separator="") if root else ""
    text = _clean("\n".join(" ".join(block.split()) for block in raw.split(_BREAK)))
    return {"title": title, "description": description, "text": text, "links": links}


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
