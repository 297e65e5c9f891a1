"""Serving a classroom: protocol-level visitors get their first figure, and two replicas behind HAProxy share them,
each visitor staying on the replica that first served it."""

from __future__ import annotations

import asyncio
import shutil
import urllib.request
from http.cookiejar import CookieJar

import pytest

from harness.browser import free_port, streamlit_server
from harness.load import measure, visit
from harness.replicas import COOKIE, Classroom, sessions_per_replica


def test_each_visitor_gets_its_own_first_figure(checkpoint_dir):
    with streamlit_server(checkpoint_dir.parent) as (url, _):
        rows = measure(url, [3], timeout=120, goal_s=120)
    assert rows[0]["served"] == 3 and rows[0]["failed"] == 0 and rows[0]["max_s"] > 0


def test_a_page_without_a_figure_is_not_counted_as_served(checkpoint_dir):
    """With no model to load the page says so and draws no figure: a failed visit, not a fast one."""
    with streamlit_server(checkpoint_dir.parent / "no-such-folder") as (url, _):
        result = asyncio.run(visit(url, "text=A+dog.", timeout=60))
    assert result.seconds is None and result.error


def replica_of(base: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/", timeout=30) as response:
        response.read()
    return next(c.value for c in jar if c.name == COOKIE)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is not installed (apt-get install -y haproxy)")
def test_two_replicas_share_visitors_and_keep_each_on_its_own(checkpoint_dir):
    stats = free_port()
    with Classroom(2, free_port(), free_port(), stats, checkpoints=checkpoint_dir.parent) as url:
        assert {replica_of(url) for _ in range(4)} == {"r1", "r2"}  # new visitors go round
        rows = measure(url, [4], timeout=120, goal_s=120)
        assert rows[0]["served"] == 4
        before = sessions_per_replica(stats)
        # A returning visitor's cookie names its replica: every request of its session goes there.
        opener = urllib.request.build_opener()
        opener.addheaders = [("Cookie", f"{COOKIE}=r2")]
        for _ in range(3):
            with opener.open(url + "/", timeout=30) as response:
                response.read()
        after = sessions_per_replica(stats)
    assert after["r2"] - before["r2"] == 3 and after["r1"] == before["r1"]
