"""How many visitors one server serves: light protocol-level clients, each a real Streamlit session.

    python -m harness.load --sessions 1,2,4,8,16,32          # starts its own server on the shipped checkpoints
    python -m harness.load --url http://127.0.0.1:8500 --sessions 8,16   # an app already running (or a proxy)

Each client opens the app's websocket (`/_stcore/stream`), asks for a page with its own sentence (so no two share a
cached translation) and waits for the main figure to arrive: the moment a browser could draw the first heatmap.
N clients start together; the report gives, for each N, the median, 95th percentile and slowest time to that figure.
Clients are a few kilobytes of Python each, so the server, not the clients, owns the two cores: what is measured is
the server's own time per visitor (a browser per visitor would measure the browsers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from urllib.parse import quote, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetStates

FIGURE_COMPONENT = "headlight_figure"  # ui/figure.py's component
SUBJECTS = ("man", "woman", "child", "dog", "teacher", "farmer", "doctor", "student", "girl", "boy", "cat", "driver")
VERBS = ("sees", "finds", "paints", "buys", "reads", "carries", "sells", "opens")
OBJECTS = ("a red house", "the old book", "two green apples", "a small boat", "the new car", "a warm coat")


def sentence(i: int) -> str:
    """A different short sentence for each client, so that no two share a cached translation."""
    s, v, o = SUBJECTS[i % len(SUBJECTS)], VERBS[(i // len(SUBJECTS)) % len(VERBS)], OBJECTS[i % len(OBJECTS)]
    return f"The {s} {v} {o} on day {i}."


@dataclass
class Visit:
    seconds: float | None  # to the first main figure; None: the page finished or failed without one
    error: str = ""


def first_figure(message: ForwardMsg) -> bool:
    if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
        return False
    element = message.delta.new_element
    if element.WhichOneof("type") != "bidi_component" or element.bidi_component.component_name != FIGURE_COMPONENT:
        return False
    return "figure" in json.loads(element.bidi_component.json)  # not the page's plotly.js preload


def session_cookie(base: str) -> str:
    """Open the page as a browser would first, and keep what it sets (a proxy's sticky-session cookie)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/", timeout=30) as response:
        response.read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


async def visit(base: str, query: str, timeout: float) -> Visit:
    start = time.perf_counter()
    try:
        cookie = await asyncio.to_thread(session_cookie, base)
        parts = urlsplit(base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        headers = {"Cookie": cookie} if cookie else None
        async with websockets.connect(
            f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers=headers,
            max_size=None,
            open_timeout=timeout,
        ) as ws:
            rerun = BackMsg(rerun_script=ClientState(query_string=query, widget_states=WidgetStates()))
            await ws.send(rerun.SerializeToString())
            deadline = start + timeout
            while True:
                message = ForwardMsg()
                message.ParseFromString(await asyncio.wait_for(ws.recv(), max(deadline - time.perf_counter(), 0.01)))
                if first_figure(message):
                    return Visit(time.perf_counter() - start)
                if message.WhichOneof("type") == "script_finished":
                    return Visit(None, "the page finished without a figure")
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        return Visit(None, f"{type(exc).__name__}: {exc}")


async def wave(base: str, n: int, offset: int, timeout: float, extra_query: str) -> list[Visit]:
    queries = [f"text={quote(sentence(offset + i))}{extra_query}" for i in range(n)]
    return await asyncio.gather(*(visit(base, q, timeout) for q in queries))


def summary(n: int, visits: list[Visit], goal_s: float) -> dict:
    times = sorted(v.seconds for v in visits if v.seconds is not None)
    row = {"sessions": n, "served": len(times), "failed": n - len(times)}
    if times:
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        row |= {"p50_s": round(statistics.median(times), 2), "p95_s": round(p95, 2), "max_s": round(times[-1], 2)}
        row["within_goal"] = sum(t <= goal_s for t in times)
    errors = sorted({v.error for v in visits if v.error})
    if errors:
        row["errors"] = errors[:3]
    return row


def measure(base: str, counts: list[int], timeout: float, goal_s: float, extra_query: str = "") -> list[dict]:
    asyncio.run(wave(base, 1, 10_000, timeout, extra_query))  # the model loads once per process: not a visitor's cost
    rows, offset = [], 0
    for n in counts:
        rows.append(summary(n, asyncio.run(wave(base, n, offset, timeout, extra_query)), goal_s))
        offset += n
        print(json.dumps(rows[-1]), flush=True)
    return rows


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness.load", description=__doc__.split("\n")[0])
    p.add_argument("--url", help="an app already running, or a proxy in front of several (default: start one)")
    p.add_argument("--sessions", default="1,2,4,8,16,32", help="comma-separated numbers of simultaneous visitors")
    p.add_argument("--goal", type=float, default=10.0, help="seconds to the first heatmap that count as served")
    p.add_argument("--timeout", type=float, default=120.0, help="give a visitor up after this many seconds")
    p.add_argument("--query", default="", help="more URL parameters for every visitor, e.g. '&view=model'")
    p.add_argument("--json", help="also write the rows to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        counts = [int(n) for n in args.sessions.split(",")]
    except ValueError:
        print("error: --sessions takes whole numbers separated by commas, e.g. 1,2,4", file=sys.stderr)
        return 2
    if any(n < 1 or n > 500 for n in counts):
        print("error: each --sessions number must be between 1 and 500", file=sys.stderr)
        return 2
    if args.url:
        rows = measure(args.url.rstrip("/"), counts, args.timeout, args.goal, args.query)
    else:
        from harness.browser import ROOT, streamlit_server

        with streamlit_server(ROOT / "checkpoints") as (url, _):
            rows = measure(url, counts, args.timeout, args.goal, args.query)
    served = [r["sessions"] for r in rows if r.get("within_goal") == r["sessions"]]
    print(f"largest wave served entirely within {args.goal:g} s: {max(served) if served else 0} sessions")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
