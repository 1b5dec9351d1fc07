"""The same worker faults on RabbitMQ (``LOOKSKIP_BROKER_URL=amqp://…``), quorum queues.

A real ``rabbitmq-server`` (Debian's) and two real workers; results and the workflow
registry stay on Redis (their own, so the session's Redis workers never see these
tasks). SIGKILL of the process running a task and a broker crash mid-workflow must
end as on Redis: every item done exactly once. A label run (its poll re-schedules
itself with a countdown: RabbitMQ's native delayed delivery) completes, and the role
queues are quorum queues.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures_services import (
    RabbitService,
    RedisService,
    Workers,
    _point_app_at,
    free_port,
    rabbitmq_available,
    service_env,
)
from test_worker_faults import check_broker_restart_mid_workflow, check_kill9_mid_task

from cli.main import cli

pytestmark = pytest.mark.integration
CLIENT_KEYS = ("LOOKSKIP_BROKER_URL", "LOOKSKIP_RESULT_BACKEND", "LOOKSKIP_DATA_DIR")


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory) -> Iterator[RabbitService]:
    if not rabbitmq_available():
        pytest.fail("rabbitmq-server not found: run scripts/setup (it installs it)")
    svc = RabbitService(free_port(), free_port(), tmp_path_factory.mktemp("rabbitmq"))
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def rabbit_workers(rabbit, batch_sim, tmp_path_factory) -> Iterator[Workers]:
    from lookskip.settings import get_settings

    results = RedisService(kind="local", port=free_port(), workdir=tmp_path_factory.mktemp("rr"))
    results.start()
    data_dir = tmp_path_factory.mktemp("rabbit-data")
    env = service_env(results.url, data_dir, batch_sim.url)
    env["LOOKSKIP_BROKER_URL"] = rabbit.url
    saved = {k: os.environ.get(k) for k in CLIENT_KEYS}
    os.environ.update({k: env[k] for k in CLIENT_KEYS})
    get_settings.cache_clear()
    _point_app_at(rabbit.url)
    import worker_test_tasks  # noqa: F401  (registers the test tasks client-side)

    logs = tmp_path_factory.mktemp("rabbit-worker-logs")
    workers = Workers(redis=results, data_dir=data_dir, log_dir=logs, env=env)
    workers.start("q1")
    workers.start("q2")
    try:
        workers.wait_ready(timeout=90)
        yield workers
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        _point_app_at(get_settings().broker_url.get_secret_value())
        gc.collect()  # results of this module's runs let go while their Redis still answers
        for n in list(workers.procs):
            workers.stop(n)
        results.stop()


def test_kill9_mid_task_on_rabbitmq(rabbit_workers, tmp_path):
    check_kill9_mid_task(tmp_path)


def test_rabbitmq_restart_mid_workflow_completes(rabbit_workers, rabbit, tmp_path):
    check_broker_restart_mid_workflow(rabbit_workers, rabbit, tmp_path)


def test_label_polls_with_countdowns_and_the_queues_are_quorum(
    rabbit_workers, rabbit, batch_sim, shared_data
):
    name = "Zookeeper"  # (test_worker_stages counts the session simulator's Proxifier batches)
    res = CliRunner().invoke(
        cli, ["enqueue", "ingest", "--source", str(shared_data / "loghub"), "--datasets", name,
              "--wait"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    opts = batch_sim.simulator.options
    opts.delay, saved = 2.0, opts.delay  # several polls, each re-scheduled with a countdown
    try:
        res = CliRunner().invoke(cli, ["enqueue", "label", "--datasets", name, "--wait"])
    finally:
        opts.delay = saved
    assert res.exit_code == 0, res.output
    created = [
        b
        for b in batch_sim.simulator.batches.values()
        if any(r["custom_id"].startswith(f"{name}_") for r in b.requests)
    ]
    assert len(created) == 1  # polled (with countdowns), created once
    rows = (Path(rabbit_workers.data_dir) / "labels" / f"{name}.jsonl").read_text().splitlines()
    assert len({json.loads(r)["line_number"] for r in rows}) == len(rows) == 2000
    env = {**rabbit._env(), "HOME": str(rabbit.workdir)}
    out = subprocess.run(
        ["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", env["RABBITMQ_NODENAME"], "list_queues",
         "name", "type", "--no-table-headers", "--quiet"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    types = dict(line.split() for line in out.stdout.splitlines() if line.strip())
    for q in ("ingest", "label", "train", "classify", "transformer"):
        assert types.get(q) == "quorum", types
    # the polls' countdowns went through RabbitMQ's delayed-delivery levels
    assert any(q.startswith("celery_delayed_") for q in types), types
