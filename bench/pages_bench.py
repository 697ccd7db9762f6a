"""Server time of every web UI page on the demo data (issue 10: each under 300 ms).

The demo (`crm demo`) is loaded into a fresh embedded database; each demo user signs in
and the crawler follows every `/ui/` link reachable by GET from the start page, taking at
most a few pages per route (one organization card stands for all of them). Each page is
requested several times through Flask's test client, so the figure is the server's work
(routing, services, database round trips, templates) without a network or a browser.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import deque
from typing import Any

from flask.testing import FlaskClient

from webapi import create_app
from webapi.demo import DEMO_PASSWORD, load_demo

from .harness import ROUND_TRIPS, Result, fresh_database

USERS = ("manager", "clerk", "designer")
LINK = re.compile(r'href="(/ui/[^"#?]*)(?:\?[^"]*)?"')
# Downloads and chart data are files, not pages.
SKIP = re.compile(r"/(xml|file|logout)$|\.(json|csv|xlsx|js|css|png)$")
ID = re.compile(r"/(?:[0-9a-f]{24}|[0-9a-f-]{36}|\d+)(?=/|$)")


def _route(path: str) -> str:
    """The path with ids replaced, so pages of one route count once."""
    return ID.sub("/<id>", path)


def _sign_in(client: FlaskClient, username: str) -> None:
    page = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the login page has no CSRF token"
    response = client.post(
        "/ui/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 302, f"{username} could not sign in"


def _crawl(client: FlaskClient, per_route: int, limit: int) -> list[str]:
    seen: set[str] = set()
    routes: dict[str, int] = {}
    queue = deque(["/ui/"])
    pages: list[str] = []
    while queue and len(pages) < limit:
        path = queue.popleft()
        route = _route(path)
        if path in seen or SKIP.search(path) or routes.get(route, 0) >= per_route:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code in (301, 302, 303) and response.location.startswith("/ui/"):
            queue.append(response.location)
            continue
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        routes[route] = routes.get(route, 0) + 1
        pages.append(path)
        queue.extend(LINK.findall(response.get_data(as_text=True)))
    return pages


def pages(repeats: int = 5, per_route: int = 2, limit: int = 80) -> Result:
    """Median and worst server time of each UI route, for each demo user."""
    result = Result("pages", targets={"slowest_route_p50_ms": "< 300"})
    with fresh_database("pages") as uri:
        app = create_app({"mongodb_uri": uri, "db_name": "bench_pages", "testing": True})
        settings = app.config["SETTINGS"]
        for _ in load_demo(settings):
            pass
        samples: dict[str, list[float]] = {}
        trips: dict[str, list[int]] = {}
        for username in USERS:
            client = app.test_client()
            _sign_in(client, username)
            for path in _crawl(client, per_route, limit):
                for _ in range(repeats):
                    ROUND_TRIPS.reset()
                    start = time.perf_counter()
                    client.get(path)
                    samples.setdefault(_route(path), []).append(time.perf_counter() - start)
                    trips.setdefault(_route(path), []).append(ROUND_TRIPS.count)
        medians = {route: statistics.median(s) * 1000 for route, s in samples.items()}
        slowest = max(medians, key=lambda r: medians[r])
        figures: dict[str, Any] = {
            "routes": len(medians),
            "slowest_route": slowest,
            "slowest_route_p50_ms": medians[slowest],
            "worst_single_request_ms": max(max(s) for s in samples.values()) * 1000,
        }
        for route in sorted(medians, key=lambda r: -medians[r]):
            figures[f"p50_ms {route}"] = round(medians[route], 1)
            figures[f"round_trips {route}"] = max(trips[route])
        result.figures = figures
    return result


def smoke() -> Result:
    """A tiny run that checks the crawler reaches pages and times them."""
    return pages(repeats=1, per_route=1, limit=12)
