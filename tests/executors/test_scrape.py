"""scrape_executor against a real local HTTP server."""

from __future__ import annotations

import pytest

from apflow.executors.scrape import ScrapeExecutor, extract

pytestmark = pytest.mark.usefixtures("allow_private")

PAGE = """<!doctype html><html><head><title> Weekly  report </title>
<meta name="description" content="Numbers for the week">
<style>body{color:red}</style><script>var secret = 1;</script></head>
<body><header>Site header</header><nav><a href="/home">Home</a></nav>
<main><h1>Sales</h1><p>Revenue   rose <b>12%</b> this week.</p>
<ul><li>North</li><li>South</li></ul>
<a href="detail.html#top">Details</a> <a href="https://other.example/x">Other</a>
<a href="mailto:a@b.c">Mail</a></main>
<aside>Ads here</aside><footer>Copyright</footer></body></html>"""


async def run(**inputs):
    return await ScrapeExecutor().execute(inputs)


async def test_page_title_main_text_and_absolute_links(httpserver):
    httpserver.expect_request("/r/report").respond_with_data(PAGE, content_type="text/html")
    out = await run(url=httpserver.url_for("/r/report"))
    assert out["status"] == "completed", out
    page = out["result"]
    assert page["title"] == "Weekly report"
    assert page["description"] == "Numbers for the week"
    assert page["text"] == "Sales\nRevenue rose 12% this week.\nNorth\nSouth\nDetails Other Mail"
    for boilerplate in ("Site header", "Home", "Ads", "Copyright", "secret", "color"):
        assert boilerplate not in page["text"]
    assert page["links"] == [
        {"url": httpserver.url_for("/r/detail.html"), "text": "Details"},
        {"url": "https://other.example/x", "text": "Other"},
    ]
    assert page["truncated"] is False


async def test_selector_picks_the_content(httpserver):
    httpserver.expect_request("/p").respond_with_data(PAGE, content_type="text/html")
    out = await run(url=httpserver.url_for("/p"), selector="ul", include_links=False)
    assert out["result"]["text"] == "North\nSouth"
    assert out["result"]["links"] == []


async def test_selector_without_match_fails(httpserver):
    httpserver.expect_request("/p").respond_with_data(PAGE, content_type="text/html")
    out = await run(url=httpserver.url_for("/p"), selector="#nothing")
    assert out["error_type"] == "not_found"
    out = await run(url=httpserver.url_for("/p"), selector="##[")
    assert out["error_type"] == "validation_error"


async def test_large_page_is_cut_at_the_byte_limit_and_text_limit(httpserver):
    body = "<html><body><p>" + "word " * 50_000 + "</p></body></html>"
    httpserver.expect_request("/big").respond_with_data(body, content_type="text/html")
    out = await run(url=httpserver.url_for("/big"), max_bytes=10_000, max_chars=500)
    assert out["status"] == "completed"
    assert out["result"]["truncated"] is True
    assert len(out["result"]["text"]) == 500


async def test_plain_text_is_returned_and_binaries_refused(httpserver):
    httpserver.expect_request("/t.txt").respond_with_data("a\n\n  b  ", content_type="text/plain")
    httpserver.expect_request("/i.png").respond_with_data(b"\x89PNG", content_type="image/png")
    out = await run(url=httpserver.url_for("/t.txt"))
    assert out["result"]["text"] == "a\nb"
    out = await run(url=httpserver.url_for("/i.png"))
    assert out["error_type"] == "unsupported_content"


async def test_error_status_fails_and_5xx_is_retryable(httpserver):
    httpserver.expect_request("/down").respond_with_data("x", status=502)
    httpserver.expect_request("/gone").respond_with_data("x", status=404)
    out = await run(url=httpserver.url_for("/down"))
    assert out["error_type"] == "http_error" and out["retryable"] is True
    out = await run(url=httpserver.url_for("/gone"))
    assert out["retryable"] is False


async def test_timeout(silent_server):
    out = await run(url=silent_server, timeout=0.3)
    assert out["error_type"] == "timeout"


@pytest.mark.parametrize(
    "inputs, where",
    [
        ({}, "url"),
        ({"url": ["x"]}, "url"),
        ({"url": "http://x", "max_chars": 0}, "max_chars"),
        ({"url": "http://x", "timeout": -1}, "timeout"),
        ({"url": "http://x", "include_links": "yes"}, "include_links"),
    ],
)
async def test_invalid_inputs(inputs, where):
    out = await run(**inputs)
    assert out["error_type"] == "validation_error" and where in out["error"]


def test_base_href_and_missing_main_fall_back_to_body():
    html = (
        '<html><head><base href="https://cdn.example/docs/"></head>'
        '<body><div>Only <a href="a">A</a></div></body></html>'
    )
    page = extract(html, "https://site.example/")
    assert page["text"] == "Only A"
    assert page["links"] == [{"url": "https://cdn.example/docs/a", "text": "A"}]


def test_a_page_wrapped_in_one_form_keeps_its_text():
    html = "<html><body><form action='/x'><h1>Title</h1><p>Body text</p></form></body></html>"
    assert extract(html, "https://site.example/")["text"] == "Title\nBody text"
