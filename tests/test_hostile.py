"""Hostile commands against the real DockerSandbox: each bound that must hold, checked by breaking it
(floods past the output cap, signals mid-command, disk and log fills, huge files read by the editor)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import docker
import pytest

from swesrl.sandbox.docker_sandbox import DockerSandbox, Limits
from swesrl.sandbox.images import ensure_base_image

pytestmark = pytest.mark.docker


@pytest.fixture(scope="session")
def base() -> str:
    return ensure_base_image()


@pytest.fixture
def run_id() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def containers(run_id: str) -> int:
    return len(docker.from_env().containers.list(all=True, filters={"label": f"swesrl.run_id={run_id}"}))


def within(seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), failing the test (not hanging it) if it has not returned after `seconds`."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__}{args} still running after {seconds} s: it hangs"
    return box[0]


FLOODS = [
    "yes",
    "cat /dev/zero",
    "python3 -c 'while True: print(\"x\" * 200)'",
    "yes | head -c 2000000000",
    "echo start; yes 2>&1 | cat",
]


def test_a_flood_past_the_cap_is_stopped_twenty_times_and_never_hangs(base: str, run_id: str) -> None:
    limits = Limits(output_bytes=10_000, stream_bytes=2_000_000)
    with DockerSandbox(base, run_id=run_id, workdir="/", limits=limits) as sb:
        for i in range(20):
            res = within(30, sb.exec, FLOODS[i % len(FLOODS)], 120)
            assert res.exit_code == 137 and not res.timed_out and res.duration < 25
            assert "killed after printing more than 2000000 bytes" in res.output and len(res.output) < 10_500
        assert sb.exec("echo alive", 10).output == "alive\n"
    assert containers(run_id) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_mid_command_leaves_no_container(base: str, run_id: str, sig: signal.Signals) -> None:
    script = (
        "from swesrl.sandbox.docker_sandbox import DockerSandbox\n"
        f"with DockerSandbox({base!r}, run_id={run_id!r}, workdir='/') as sb:\n"
        "    print('running', flush=True)\n    sb.exec('sleep 100', 60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "running\n"
    time.sleep(0.5)
    assert containers(run_id) == 1
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and f"{sig.name} received" in err
    assert containers(run_id) == 0
