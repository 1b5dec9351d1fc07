"""Separate hosts for real: ``docker/several-hosts`` (opt-in: it needs built images).

Redis and an S3 server on one Docker network, the worker and two classifiers on
another, no shared volume; ``enqueue pipeline`` and ``enqueue classify`` from a CLI
container are checked against local runs, and one classifier is cut off the network
mid-job (``docker network disconnect``). The script does the checks and exits non-zero
on any difference; this test runs it with the images already built.

Opt-in (``LOOKSKIP_DOCKER_HOSTS=1``) because the images take up to ~50 minutes to build
(2,851 s measured) on a small machine (``docker/several-hosts`` without ``--no-build``
builds them), which does not fit the CI budget; the run itself takes a few minutes once
they exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ("lookskip/worker:latest", "lookskip/classifier:latest", "lookskip/s3-server:latest")

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _missing_images() -> list[str]:
    return [
        i
        for i in IMAGES
        if subprocess.run(["docker", "image", "inspect", i], capture_output=True).returncode
    ]


@pytest.mark.skipif(
    os.environ.get("LOOKSKIP_DOCKER_HOSTS") != "1",
    reason="opt-in: LOOKSKIP_DOCKER_HOSTS=1 (needs images built by docker/several-hosts, "
    "up to ~50 min on 2 cores)",
)
def test_workers_on_separate_networks_share_only_broker_and_bucket():
    if not shutil.which("docker"):
        pytest.fail("LOOKSKIP_DOCKER_HOSTS=1 but no docker command")
    missing = _missing_images()
    if missing:
        pytest.fail(f"images not built: {', '.join(missing)} (run docker/several-hosts once)")
    p = subprocess.run(
        [str(ROOT / "docker" / "several-hosts"), "--no-build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    assert "several-hosts: OK" in out
    assert "identical to the local run" in out
    assert "labels and training report equal the local run" in out
    assert "after the cut, on classifier1" in out
