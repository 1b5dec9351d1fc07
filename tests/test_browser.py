"""report.html and Flower in a real browser: headless Chromium (Debian's package,
installed by scripts/setup) driven by playwright (PyPI; its own browser downloads are
not used: ``executable_path`` points at the system chromium).

One live stack serves both checks: redis-server, one Celery worker on the classify
queue and Flower with basic auth, all started with `lookskip` commands. A classify
workflow is sent with `lookskip enqueue classify --wait`; its report.html is opened
from disk and Flower's task list over HTTP. Screenshots are saved in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixtures_services import ROOT, free_port, wait_for_redis

pytestmark = pytest.mark.integration

MODEL = ROOT / "data" / "models" / "look_skip_model.json.gz"
FLOWER_USER, FLOWER_PASSWORD = "ops", "flower-pw-browser-51d2"
LOOKSKIP = (sys.executable, "-m", "cli.main")
# dockerd's logfmt lines (time="…"), errors spread over two hours
DOCKERD = "".join(
    f'time="2024-06-14T{10 + m // 60:02d}:{m % 60:02d}:07.123456789Z" level=info '
    f'msg="Container {m:04d} health status: healthy"\n'
    + (
        f'time="2024-06-14T{10 + m // 60:02d}:{m % 60:02d}:08.5Z" level=error '
        f'msg="Handler for POST /v1.41/containers/{m:04d}/start returned error: driver failed '
        f"programming external connectivity: Bind for 0.0.0.0:8080 failed: port is already "
        f'allocated"\n'
        if m % 7 == 0 or 50 <= m < 55
        else ""
    )
    for m in range(120)
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no chromium on PATH: scripts/setup installs Debian's chromium package")


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (dev group: uv sync)")
    with sync_playwright() as p:
        # --no-sandbox: the tests run as root, where Chromium refuses its sandbox
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"], headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[str, dict[str, str], Path]]:
    """redis-server, one classify worker, Flower with basic auth; (flower URL, env, tmp)."""
    tmp = tmp_path_factory.mktemp("browser")
    port, web = free_port(), free_port()
    redis_proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url)
    env = dict(
        os.environ,
        LOOKSKIP_BROKER_URL=url,
        LOOKSKIP_RESULT_BACKEND=url,
        LOOKSKIP_DATA_DIR=str(tmp / "data"),
        LOOKSKIP_ALLOWED_ROOTS=str(tmp),  # the logs and the output are beside the data dir
        LOOKSKIP_FLOWER_USER=FLOWER_USER,
        LOOKSKIP_FLOWER_PASSWORD=FLOWER_PASSWORD,
        LOOKSKIP_THREADS="1",
    )
    logs = {n: open(tmp / f"{n}.log", "w") for n in ("worker", "flower")}  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [*LOOKSKIP, "worker", "--queues", "classify", "--pool", "solo", "--name", "browser"],
            cwd=ROOT,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [*LOOKSKIP, "flower", "--port", str(web)],
            cwd=ROOT,
            env=env,
            stdout=logs["flower"],
            stderr=subprocess.STDOUT,
        ),
    ]
    base = f"http://127.0.0.1:{web}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/healthcheck", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, env, tmp
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        redis_proc.terminate()
        redis_proc.wait(10)
        for f in logs.values():
            f.close()


@pytest.fixture(scope="module")
def run(stack, shared_data) -> tuple[str, Path, dict]:
    """A small classify workflow on the worker: (workflow id, output dir, final status).

    First a probe task, until Flower lists it: then Flower's event stream is live and
    sees the workflow's first task too (its web server answers before that)."""
    base, env, tmp = stack
    _probe_until_flower_sees_it(base, env)
    logs = tmp / "logs"
    logs.mkdir()
    for name in ("Android", "HDFS", "Apache"):
        shutil.copy(shared_data / "loghub" / f"{name}_2k.log", logs / f"{name.lower()}.log")
    (logs / "quiet.log").write_bytes(b"hello\nnothing to see\n")
    (logs / "dockerd.log").write_text(DOCKERD)
    out = tmp / "out"
    args = ["classify", str(logs), "--output", str(out), "--model", str(MODEL), "--chunk-mib", "1"]
    p = subprocess.run(
        [*LOOKSKIP, "enqueue", *args, "--wait"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr + (tmp / "worker.log").read_text()
    wf = p.stdout.split()[0]
    st = subprocess.run(
        [*LOOKSKIP, "status", wf, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return wf, out, json.loads(st.stdout)


def _probe_until_flower_sees_it(base: str, env: dict[str, str]) -> None:
    from celery import Celery, signature

    url = env["LOOKSKIP_BROKER_URL"]
    client = Celery(broker=url, backend=url, set_as_current=False)
    client.conf.update(task_serializer="json", accept_content=["json"])
    auth = (FLOWER_USER, FLOWER_PASSWORD)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            sig = signature("lookskip.diag.echo", kwargs={"sent_at": time.time()}, app=client)
            sig.set(queue="classify").apply_async().get(timeout=60)
            tasks = httpx.get(base + "/api/tasks", auth=auth, timeout=5).json()
            if any(t["name"] == "lookskip.diag.echo" for t in tasks.values()):
                return
            time.sleep(1)
        pytest.fail("Flower never showed the probe task")
    finally:
        client.close()


def test_workers_publish_what_they_read(run, stack):
    """The registry's work figures (what `enqueue classify --wait` draws) add up exactly."""
    _, out, view = run
    summary = json.loads((out / "summary.json").read_text())
    assert view["work"]["bytes"] == summary["totals"]["bytes"] == view["work"]["bytes_total"]
    assert view["work"]["lines"] >= summary["totals"]["lines"] - summary["totals"]["files"]


def test_report_renders_in_chromium(run, browser, tmp_path):
    _, out, _ = run
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: None if r.url.startswith("file:") else problems.append(r.url))
    page.goto((out / "report.html").as_uri())
    page.wait_for_load_state("load")

    patterns = page.locator("table.patterns").first
    assert patterns.is_visible()
    rows = patterns.locator("tbody tr")
    assert rows.count() >= 3
    box = patterns.bounding_box()
    assert box and box["width"] > 400 and box["height"] > 60
    chart = page.locator(".density svg").first
    cbox = chart.bounding_box()
    assert cbox and cbox["width"] >= 300 and cbox["height"] >= 80
    assert page.locator(".density svg rect").count() > 10

    # the cross-file table: level, score, lines, files (per-file counts on expand) …
    heads = patterns.locator("thead th").all_inner_texts()
    assert heads[:5] == ["level", "score", "lines", "files", "first seen"]
    files_cell = rows.first.locator("td").nth(3)
    per_file = files_cell.locator("details li")
    assert not per_file.first.is_visible()
    files_cell.locator("summary").click()
    assert per_file.first.is_visible() and ": " in per_file.first.inner_text()
    # … and every row reachable: the rest behind "N more"
    more = page.locator("#patterns details.more")
    assert more.count() == 1 and more.locator("xpath=./summary").inner_text().endswith(
        "more patterns"
    )
    hidden = more.locator("tr.pattern")
    assert hidden.count() > 0 and not hidden.first.is_visible()
    more.locator("xpath=./summary").click()
    assert hidden.first.is_visible() and hidden.last.is_visible()

    # the full key on hover, the header dimmed apart from the message
    cell = rows.first.locator("td").nth(5)
    title = cell.get_attribute("title")
    hdr = cell.locator(".hdr")
    if hdr.count():
        assert title.startswith(hdr.inner_text().strip())
        assert hdr.evaluate("e => getComputedStyle(e).color") != cell.locator(".msg").evaluate(
            "e => getComputedStyle(e).color"
        )
    # a pattern opens to its example lines, each in its context, numbered
    examples = cell.locator("details li")
    assert not examples.first.is_visible()
    cell.locator("summary").click()
    assert examples.first.is_visible()
    assert re.fullmatch(r"\S+\.log:[\d,]+", examples.first.locator(".where").inner_text())
    context = examples.first.locator("pre.ctx .cl")
    hit = examples.first.locator("pre.ctx .hit")
    assert hit.count() == 1 and 2 <= context.count() <= 7
    plain = examples.first.locator("pre.ctx .cl:not(.hit)").first
    weight = "e => getComputedStyle(e).fontWeight"
    assert hit.evaluate(weight) != plain.evaluate(weight)  # the LOOK line stands out
    numbers = [int(n.replace(",", "")) for n in examples.first.locator(".ln").all_inner_texts()]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # consecutive

    # dockerd's time="…" lines get a time chart with a labelled axis
    section = page.locator("section", has=page.locator("h2", has_text="dockerd.log"))
    chart = section.locator(".timechart svg")
    assert chart.count() == 1 and chart.bounding_box()["width"] >= 300
    ticks = chart.locator("text.tick").all_text_contents()  # SVG: no innerText
    assert len(ticks) == 5 and ticks[0].startswith("10:0") and ticks[-1].startswith("11:")
    assert "time on 2024-06-14" in chart.text_content()  # one day: the date once
    assert chart.locator("rect").count() > 10
    assert (
        "LOOK lines" in chart.text_content() and "as written in the lines" in chart.text_content()
    )

    # the files table sorts by LOOK count (descending on first click)
    page.locator("#files th[data-col='2'] button").click()
    looks = [
        int(v)
        for v in page.locator("#files tbody td:nth-child(3)").evaluate_all(
            "cells => cells.map(c => c.dataset.v)"
        )
    ]
    assert looks == sorted(looks, reverse=True) and len(looks) == 5
    page.locator("#files th[data-col='3'] button").click()
    page.locator("#files th[data-col='3'] button").click()  # share, ascending
    shares = page.locator("#files tbody td:nth-child(4)").evaluate_all(
        "cells => cells.map(c => +c.dataset.v)"
    )
    assert shares == sorted(shares)
    assert page.get_by_text("No LOOK lines in this file.").count() == 1  # quiet.log

    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert not problems, problems
    page.close()


def test_flower_shows_the_workflow_tasks_by_name(run, stack, browser, tmp_path):
    base, _, _ = stack
    assert httpx.get(base + "/tasks", timeout=5).status_code == 401  # auth is on
    ctx = browser.new_context(
        http_credentials={"username": FLOWER_USER, "password": FLOWER_PASSWORD},
        viewport={"width": 1600, "height": 1000},
    )
    page = ctx.new_page()
    assert page.goto(base + "/tasks").status == 200
    # (the plan task replaces itself with the chord, which takes over its task id: Flower
    # then shows that id under the merge's name, so "plan" is not listed by design)
    names = ("lookskip.classify.unit", "lookskip.classify.merge", "lookskip.workflow.finish")
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        text = page.locator("body").inner_text()
        if all(n in text for n in names):
            break
        page.wait_for_timeout(1000)
        page.reload()
    for n in names:
        assert n in text, f"{n} not on Flower's task list:\n{text[:3000]}"
    page.screenshot(path=str(tmp_path / "flower.png"), full_page=True)
    # a unit's page shows its readable arguments (kwargsrepr: file and byte range)
    api = httpx.get(base + "/api/tasks", auth=(FLOWER_USER, FLOWER_PASSWORD), timeout=10).json()
    unit = next(
        u
        for u, t in api.items()
        if t["name"] == "lookskip.classify.unit" and "android.log" in (t.get("kwargs") or "")
    )
    assert page.goto(f"{base}/task/{unit}").status == 200
    assert "logs/android.log[0:]" in page.locator("body").inner_text()
    assert FLOWER_PASSWORD not in page.content()
    ctx.close()
