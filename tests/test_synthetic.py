"""The seeded synthetic generator: deterministic, realistic, error-heavy with routine noise."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from lookskip import ingest, synthetic

NAMES = list(synthetic.GENERATORS)

# Per dataset: a line that is routine noise, and incident lines that never say "ERROR".
ROUTINE = {
    "JavaApp": r"\s(INFO|DEBUG) .* : ",
    "KernelErrors": r"systemd\[1\]: (Started|Starting)|CRON\[|chronyd|NIC Link is Up|mounted "
    r"filesystem|entered forwarding|apparmor|systemd-logind|ADDRCONF|Deactivated",
    "DatabaseErrors": r"LOG:  (connection (received|authorized)|disconnection|checkpoint "
    r"(starting|complete)|automatic (vacuum|analyze)|duration: \d{1,2}\.\d+ ms)",
    "WebServer": r'" (200|201|301|304) \d+ ',
    "Microservices": r"level=(info|debug)",
    "SecurityEvents": r"Accepted publickey|session (opened|closed)|COMMAND=/usr/bin/"
    r"(systemctl|apt-get|journalctl|docker)|Connection closed by|Received "
    r"disconnect",
}
QUIET_INCIDENTS = {  # failures whose line does not contain the word ERROR
    "JavaApp": r"OutOfMemoryError|Pause Full|Slow request|CircuitBreaker .* OPEN|Retry '|"
    r"NullPointerException: Cannot|Caused by:",
    "KernelErrors": r"oom-killer|Out of memory|segfault at|BUG: |Oops|blocked for more than|"
    r"I/O error|soft lockup|Hardware Error|temperature above|timed out|table full",
    "DatabaseErrors": r"FATAL:|PANIC:|deadlock|duration: \d{4,}\.\d+ ms|no more connections|"
    r"terminated by signal|Connection reset by peer|too frequently",
    "WebServer": r'" 5\d\d \d+ |\[(crit|alert)\]|upstream timed out|no live upstreams|'
    r"rt=([89]|\d{2})\.",
    "Microservices": r"level=warn|DeadlineExceeded|circuit breaker|reason=(BackOff|OOMKilling|"
    r"Unhealthy)|Traceback|KeyError|ConnectionError",
    "SecurityEvents": r"Failed password|Invalid user|authentication failure|NOT in sudoers|"
    r"incorrect password|Ban |UFW BLOCK|res=failed|new user: name=\w+, UID=0|"
    r"maximum authentication attempts",
}


def lines_of(name: str, seed: int = synthetic.DEFAULT_SEED) -> list[str]:
    return synthetic.generate(name, seed).split("\n")[:-1]


def test_same_seed_gives_byte_identical_output_and_other_seeds_differ():
    for name in NAMES:
        a, b = synthetic.generate(name), synthetic.generate(name)
        assert a == b
        assert synthetic.generate(name, seed=1) != a
    assert synthetic.generate("JavaApp", 5) == synthetic.generate("JavaApp", 5)


def test_output_does_not_depend_on_the_machine():
    """Time zone, locale and hash seed must not leak in (a worker elsewhere gets the same file)."""
    code = (
        "import hashlib; from lookskip import synthetic as s; "
        "print(hashlib.sha256(''.join(s.generate(n) for n in s.GENERATORS).encode())"
        ".hexdigest())"
    )
    here = hashlib.sha256("".join(synthetic.generate(n) for n in NAMES).encode()).hexdigest()
    env = {**os.environ, "TZ": "Asia/Kolkata", "PYTHONHASHSEED": "12345", "LC_ALL": "C.UTF-8"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == here


@pytest.mark.parametrize("seed", [synthetic.DEFAULT_SEED, 1, 2, 3])
def test_every_dataset_is_a_valid_sample_of_400_to_600_lines(seed):
    for name in NAMES:
        text = synthetic.generate(name, seed)
        n = ingest.check_text(text.encode("utf-8"))  # what ingest accepts
        assert 400 <= n <= 600, (name, seed, n)
        assert text.endswith("\n")
        assert all(line.strip() for line in text.split("\n")[:-1]), "no blank lines"


@pytest.mark.parametrize("seed", [synthetic.DEFAULT_SEED, 1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_error_heavy_with_routine_noise_and_quiet_errors(name, seed):
    lines = lines_of(name, seed)
    routine = [x for x in lines if re.search(ROUTINE[name], x)]
    quiet = [x for x in lines if re.search(QUIET_INCIDENTS[name], x) and "ERROR" not in x]
    assert len(routine) / len(lines) >= 0.2, f"{name}: only {len(routine)} routine lines"
    assert len(quiet) >= 25, f"{name}: only {len(quiet)} failures without the word ERROR"
    assert len(quiet) / len(lines) <= 0.8, f"{name}: no room for noise"


def test_java_stack_traces_are_realistic():
    text = synthetic.generate("JavaApp")
    frames = re.findall(r"^\tat ([\w$.]+(?:/[\w$.]+)?)\((\w+)\.java:(\d+)\)$", text, re.M)
    assert len(frames) > 50
    assert any(f[0].startswith("com.acme.shop.") for f in frames)
    # the file in the frame is the class's file: ...OrderService.placeOrder(OrderService.java:N)
    assert all(f[0].split(".")[-2].split("$")[0] == f[1] for f in frames)
    assert re.search(r"^Caused by: [\w.]+(Exception|Error): ", text, re.M)
    assert re.search(r"^\t\.\.\. \d+ common frames omitted$", text, re.M)
    assert re.search(r'^Exception in thread "[\w-]+" java\.lang\.OutOfMemoryError', text, re.M)
    levels = Counter(m for m in re.findall(r"Z\s+(TRACE|DEBUG|INFO|WARN|ERROR) \d+ ---", text))
    assert set(levels) >= {"DEBUG", "INFO", "WARN", "ERROR"}
    assert levels["INFO"] > levels["ERROR"]
    assert re.search(r"\[nio-8080-exec-\d+\]", text)  # thread names
    assert re.search(r"\[req=[0-9a-f]{16}\]", text)  # request ids


def test_python_tracebacks_and_trace_ids_in_microservices():
    text = synthetic.generate("Microservices")
    assert text.count("Traceback (most recent call last):") >= 2
    assert re.search(r'^  File "/app/\w+/\w+\.py", line \d+, in \w+$', text, re.M)
    assert re.search(r"^[\w.]+(Error|Exception): ", text, re.M)
    traces = re.findall(r"trace_id=([0-9a-f]{32})", text)
    assert len(traces) > 100
    # a retry sequence shares its trace id across services
    assert any(n >= 3 for n in Counter(traces).values())
    assert re.search(r"circuit breaker state changed\".* to=open", text)
    assert re.search(r"level=(info|debug|warn|error)", text)


def test_kernel_oops_oom_and_segfault():
    text = synthetic.generate("KernelErrors", seed=3)
    for pattern in [
        r"invoked oom-killer",
        r"Out of memory: Killed process \d+ \(\w+\)",
        r"segfault at \w+ ip [0-9a-f]+ sp [0-9a-f]+ error \d",
        r"Call Trace:",
        r"^\S+ \d+ [\d:]+ [\w-]+ kernel: \[\s*\d+\.\d{6}\] ",
    ]:
        assert re.search(pattern, text, re.M), pattern


def test_database_deadlocks_slow_queries_and_pool_exhaustion():
    text = synthetic.generate("DatabaseErrors")
    assert "ERROR:  deadlock detected" in text
    slow = [float(x) for x in re.findall(r"duration: (\d+\.\d+) ms", text)]
    assert max(slow) > 2500 and min(slow) < 50
    assert "remaining connection slots are reserved" in text
    assert "pooler error: no more connections allowed" in text


def test_access_log_has_5xx_bursts():
    lines = lines_of("WebServer")
    status = [int(m.group(1)) for x in lines if (m := re.search(r'HTTP/1\.1" (\d{3}) ', x))]
    classes = Counter(s // 100 for s in status)
    assert classes[2] + classes[3] > len(status) / 2  # mostly fine traffic
    assert classes[5] > len(status) / 10  # but error-heavy
    runs, run = [], 0
    for s in status:
        run = run + 1 if s >= 500 else 0
        runs.append(run)
    assert max(runs) >= 4, "a burst of consecutive 5xx answers"


def test_security_brute_force_and_sudo():
    text = synthetic.generate("SecurityEvents")
    failed = Counter(re.findall(r"Failed password for (?:invalid user )?\w+ from ([\d.]+)", text))
    assert failed.most_common(1)[0][1] >= 5  # one source hammering
    banned = set(re.findall(r"Ban ([\d.]+)", text))
    assert banned & set(failed)
    assert re.search(r"sudo: +\w+ : TTY=pts/\d ; PWD=\S+ ; USER=root ; COMMAND=", text)
    assert "authentication failure" in text or "NOT in sudoers" in text


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="not a synthetic dataset"):
        synthetic.generate("HDFS")
