"""The Celery configuration and the pure helpers of the job system (no Redis needed)."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner

from lookskip.jobs import host_port, mask_url, progress_text, redact, short_error
from lookskip.settings import Settings


@pytest.fixture(scope="module")
def app():
    from worker.app import app

    app.loader.import_default_modules()
    return app


def test_config_is_json_only_late_ack_and_bounded(app):
    c = app.conf
    assert c.task_serializer == c.result_serializer == "json"
    assert list(c.accept_content) == ["json"] and list(c.result_accept_content) == ["json"]
    assert c.task_acks_late and c.task_reject_on_worker_lost
    assert c.worker_prefetch_multiplier == 1
    assert c.task_track_started and c.worker_send_task_events and c.task_send_sent_event
    assert c.result_expires and c.result_expires > 0
    assert Settings().max_deliveries >= 1


def test_visibility_timeout_is_consistent_and_above_every_task_limit(app):
    vt = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.result_backend_transport_options["visibility_timeout"] == vt
    ours = {n: t for n, t in app.tasks.items() if n.startswith("lookskip.")}
    assert len(ours) > 15
    for name, task in ours.items():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert hard and soft, f"{name} has no time limit"
        assert soft < hard < vt, name
    from worker.config import MAX_COUNTDOWN_S

    assert vt > MAX_COUNTDOWN_S


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        ("lookskip.ingest.dataset", "ingest"),
        ("lookskip.label.poll", "label"),
        ("lookskip.train.fit", "train"),
        ("lookskip.export.parity", "train"),
        ("lookskip.classify.unit", "classify"),
        ("lookskip.transformer.fit", "transformer"),
    ],
)
def test_tasks_are_routed_by_name_to_their_role_queue(app, name, queue):
    assert app.amqp.router.route({}, name)["queue"].name == queue


def test_every_stage_task_is_routed_to_a_role_queue(app):
    from worker.config import QUEUES

    for name in app.tasks:
        if name.startswith("lookskip.") and not name.startswith(
            ("lookskip.diag.", "lookskip.workflow.", "lookskip.test.")
        ):
            assert app.amqp.router.route({}, name)["queue"].name in QUEUES, name


def test_urls_are_masked_and_secrets_redacted():
    assert mask_url("redis://:hunter2@redis:6379/1") == "redis://:***@redis:6379/1"
    assert mask_url("redis://user:pw@h/0") == "redis://user:***@h/0"
    assert mask_url("redis://localhost:6379/0") == "redis://localhost:6379/0"
    assert mask_url("redis://:pw@h:notaport/0") == "redis://:***@h:notaport/0"
    assert mask_url("redis//:pw@h/0") == "***@h/0"
    assert host_port("redis://:pw@cache.example:6380/0") == "cache.example:6380"
    assert host_port("redis://localhost") == "localhost:6379"
    assert redact("key sk-ant-123456 leaked", ["sk-ant-123456"]) == "key *** leaked"
    assert short_error(ValueError("a\n  b")) == "ValueError: a b"
    assert (
        progress_text(
            [{"name": "fits", "done": 57, "total": 160}, {"name": "x", "done": 0, "total": 0}]
        )
        == "fits 57/160"
    )


@pytest.mark.parametrize(
    "url, why",
    [
        ("redis://:hunter2@127.0.0.1:notaport/0", "Port is not a number: 'notaport'"),
        ("redis://:hunter2@127.0.0.1:70000/0", "Port out of range"),
        ("redis://:hunter2@[::1/0", "Invalid IPv6 URL"),
        ("redis//:hunter2@127.0.0.1/0", "expected scheme://"),
    ],
)
@pytest.mark.parametrize("command", [["jobs"], ["status", "x"], ["enqueue", "export"]])
def test_a_bad_broker_url_is_one_clear_line_without_the_password(url, why, command, tmp_path):
    """Defect 13: a port that is not a number was a traceback from redis' URL parser."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LOOKSKIP_BROKER_URL": url, "LOOKSKIP_DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "cli.main", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "hunter2" not in run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "broker URL" in lines[0] and why in lines[0], lines


def test_enqueue_commands_reuse_the_local_options():
    from cli.main import cli

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # click warns about duplicated options
        for stage, flags in {
            "ingest": ["--source", "--datasets", "--force", "--seed"],
            "label": ["--new-only", "--window-size", "--model", "--force"],
            "train": ["--grid", "--folds", "--holdout", "--models-dir"],
            "export": ["--output", "--check / --no-check"],
            "pipeline": ["--from", "--source", "--grid", "--window-size"],
        }.items():
            res = CliRunner().invoke(cli, ["enqueue", stage, "--help"])
            assert res.exit_code == 0, res.output
            for flag in [*flags, "--wait"]:
                assert flag in res.output, (stage, flag)
    train_help = CliRunner().invoke(cli, ["enqueue", "train", "--help"]).output
    assert "--n-jobs" not in train_help  # local-only


def test_worker_command_rejects_unknown_queues():
    from cli.main import cli

    res = CliRunner().invoke(cli, ["worker", "--queues", "ingest,bogus"])
    assert res.exit_code == 2 and "bogus" in res.output


def test_label_steps_that_lost_the_manifest_lock_run_again(app):
    from lookskip.locking import LockLost, StateConflict

    for name in ("prepare", "submit", "poll", "collect", "round", "merge"):
        task = app.tasks[f"lookskip.label.{name}"]
        assert {LockLost, StateConflict} <= set(task.autoretry_for), name
        assert task.max_retries >= 5


def test_rabbitmq_gets_quorum_queues_on_topic_exchanges_and_no_visibility_timeout():
    from worker.config import (
        QUEUES,
        broker_kind,
        celery_config,
        rabbitmq_consumer_timeout_ms,
        visibility_timeout_s,
    )

    conf = celery_config(Settings(broker_url="amqp://u:p@rabbit:5672//"))
    assert broker_kind(conf["broker_url"]) == "amqp"
    assert [q.name for q in conf["task_queues"]] == list(QUEUES)
    for q in conf["task_queues"]:
        assert q.queue_arguments == {"x-queue-type": "quorum"}
        assert q.exchange.type == "topic" and q.routing_key == q.name
    assert "visibility_timeout" not in conf["broker_transport_options"]
    assert rabbitmq_consumer_timeout_ms() >= visibility_timeout_s() * 1000
    redis = celery_config(Settings(broker_url="redis://r:6379/0"))
    assert redis["task_queues"] is None and redis["task_default_queue_type"] == "classic"
