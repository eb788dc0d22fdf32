"""DockerSandbox against a real daemon: commands, limits that hold against hostile commands, files,
diffs that apply elsewhere, and no container left behind on any path."""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.errors import SandboxClosed
from swesrl.sandbox.base import Sandbox
from swesrl.sandbox.docker_sandbox import DockerSandbox, Limits
from swesrl.sandbox.images import (
    EnvironmentSpec,
    InstanceSpec,
    RepoSource,
    ensure_base_image,
    ensure_instance_image,
)
from swesrl.sandbox.prune import prune

pytestmark = pytest.mark.docker


@pytest.fixture(scope="session")
def base() -> str:
    return ensure_base_image()


@pytest.fixture(scope="session")
def repo_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("repo")
    (root / "calc.py").write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(12)))
    (root / "README").write_text("calc\n")
    spec = InstanceSpec(environment=EnvironmentSpec(), repo=RepoSource(kind="dir", location=str(root)), install_commands=())
    return ensure_instance_image(spec)


@pytest.fixture
def run_id() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def containers(run_id: str) -> int:
    return len(docker.from_env().containers.list(all=True, filters={"label": f"swesrl.run_id={run_id}"}))


def test_exec_exit_codes_env_and_workdir(base: str, run_id: str) -> None:
    with DockerSandbox(base, run_id=run_id, workdir="/root") as sb:
        assert isinstance(sb, Sandbox)
        res = sb.exec("echo out; echo err >&2; exit 3", 10)
        assert (res.output, res.exit_code, res.timed_out) == ("out\nerr\n", 3, False)
        assert sb.exec("pwd; echo $GREETING", 10, env={"GREETING": "hé"}).output == "/root\nhé\n"
        assert sb.exec("pwd", 10, workdir="/usr").output == "/usr\n"
        assert sb.exec("exit 0", 10).exit_code == 0


def test_container_runs_offline_with_limits_and_labels(base: str, run_id: str) -> None:
    limits = Limits(memory="300m", cpus=0.5, pids=100)
    with DockerSandbox(base, run_id=run_id, instance_id="a/b-1", limits=limits) as sb:
        attrs = docker.from_env().containers.get(sb.container_id).attrs
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none" and host["Memory"] == 300 * 2**20 and host["MemorySwap"] == 300 * 2**20
    assert host["NanoCpus"] == 500_000_000 and host["PidsLimit"] == 100
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    labels = {"swesrl": "1", "swesrl.run_id": run_id, "swesrl.instance_id": "a/b-1"}
    assert labels.items() <= attrs["Config"]["Labels"].items()
    with DockerSandbox(base, run_id=run_id, network="bridge") as online:  # opted into; nothing is sent
        assert docker.from_env().containers.get(online.container_id).attrs["HostConfig"]["NetworkMode"] == "bridge"


def test_timeout_stops_the_command_and_the_sandbox_stays_usable(base: str, run_id: str) -> None:
    with DockerSandbox(base, run_id=run_id, workdir="/") as sb:
        res = sb.exec("echo started; sleep 1000", 1)
        assert res.timed_out and res.exit_code == 137 and res.output.startswith("started")
        assert res.duration < 5
        ps = sb.exec("ps -eo comm", 10).output.split()
        assert "sleep" not in ps[1:] or ps.count("sleep") == 1  # only PID 1's own idle sleep
        assert sb.exec("echo alive", 10).output == "alive\n"


def test_background_and_setsid_processes_do_not_outlive_their_command(base: str, run_id: str) -> None:
    with DockerSandbox(base, run_id=run_id, workdir="/") as sb:
        res = sb.exec("setsid sleep 777 & nohup sleep 778 >/dev/null 2>&1 & echo spawned", 10)
        assert res.output == "spawned\n" and res.duration < 5
        assert "777" not in sb.exec("ps -eo args", 10).output


def test_output_is_capped_head_and_tail_and_host_memory_stays_bounded(base: str, run_id: str) -> None:
    cap = 10_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with DockerSandbox(base, run_id=run_id, workdir="/", limits=Limits(output_bytes=cap)) as sb:
        res = sb.exec("echo FIRST; yes | head -c 30000000", 30)
        assert res.exit_code == 0 and not res.timed_out
        assert res.output.startswith("FIRST\ny\n")
        assert "bytes of output omitted" in res.output
        assert len(res.output) < cap + 200
        seq = sb.exec("seq 1 100000", 10)
        assert seq.output.startswith("1\n2\n") and seq.output.rstrip().endswith("100000")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200_000  # KiB


def test_fork_bomb_is_contained_and_the_batch_goes_on(base: str, run_id: str) -> None:
    for _ in range(10):  # a bomb right after the start once ended PID 1 (a `date` that could not fork): 1 in 10
        with DockerSandbox(base, run_id=run_id, workdir="/", limits=Limits(pids=64)) as sb:
            bomb = sb.exec(":(){ :|:& };:", 5)
            assert bomb.duration < 40
            after = sb.exec("ps -e --no-headers | wc -l", 10)
            assert after.exit_code == 0 and int(after.output) < 10, after.output
            assert sb.exec("echo next", 10).output == "next\n"


def test_a_wedged_container_is_restarted_and_keeps_its_files(base: str, run_id: str) -> None:
    """Last resort: nothing inside answers (here: the container is frozen mid-command)."""
    with DockerSandbox(base, run_id=run_id, workdir="/root") as sb:
        sb.write_file("/root/keep.txt", "kept\n")
        freeze = threading.Timer(0.5, docker.from_env().containers.get(sb.container_id).pause)
        freeze.start()
        res = sb.exec("sleep 60", 1)
        freeze.join()
        assert res.timed_out and res.exit_code == 137 and "container restarted" in res.output
        assert res.duration < 20 and sb.restarts == 1
        assert sb.read_file("/root/keep.txt") == "kept\n"
        assert sb.exec("echo back", 10).output == "back\n"


def test_memory_hog_dies_with_137(base: str, run_id: str) -> None:
    with DockerSandbox(base, run_id=run_id, workdir="/", limits=Limits(memory="128m")) as sb:
        res = sb.exec("python3 -c 'x = bytearray(1 << 30); print(len(x))'", 30)
        assert res.exit_code == 137 and not res.timed_out
        assert sb.exec("echo ok", 10).output == "ok\n"


def test_file_size_limit_holds(base: str, run_id: str) -> None:
    with DockerSandbox(base, run_id=run_id, workdir="/", limits=Limits(file_size=1 << 20)) as sb:
        res = sb.exec("head -c 5000000 /dev/zero > /root/big; stat -c %s /root/big", 30)
        assert res.output.strip().splitlines()[-1] == str(1 << 20)


def test_no_network_inside(base: str, run_id: str) -> None:
    probe = "python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 53), timeout=2); print(\"connected\")'"
    with DockerSandbox(base, run_id=run_id, workdir="/") as sb:
        res = sb.exec(probe, 15)
        assert res.exit_code != 0 and "connected" not in res.output


def test_host_files_are_not_visible(base: str, run_id: str, tmp_path: Path) -> None:
    secret = tmp_path / f"secret-{uuid.uuid4().hex}"
    secret.write_text("host only")
    with DockerSandbox(base, run_id=run_id, workdir="/") as sb:
        assert sb.exec(f"test -e {secret}", 10).exit_code == 1
        assert sb.exec(f"find / -xdev -name {secret.name} 2>/dev/null | wc -l", 30).output.strip() == "0"


def test_write_and_read_files_round_trip(base: str, run_id: str) -> None:
    text = "héllo wörld ✓ — 日本語\nno final newline"
    with DockerSandbox(base, run_id=run_id, workdir="/work") as sb:
        sb.write_file("deep/er/file.txt", text)  # relative to the workdir, folders created
        assert sb.read_file("/work/deep/er/file.txt") == text
        blob = bytes(range(256)) * 4000
        sb.write_file("/tmp/blob.bin", blob)
        assert sb.read_bytes("/tmp/blob.bin") == blob
        sb.write_file("run.sh", "#!/bin/sh\necho one\n")
        sb.exec("chmod 755 run.sh", 10)
        sb.write_file("run.sh", "#!/bin/sh\necho two\n")  # an edit keeps the mode
        assert sb.exec("./run.sh", 10).output == "two\n"
        with pytest.raises(FileNotFoundError):
            sb.read_file("/nope")


def test_diff_applies_cleanly_in_a_fresh_container(repo_image: str, run_id: str) -> None:
    with DockerSandbox(repo_image, run_id=run_id) as sb:
        assert sb.diff() == ""
        sb.exec("sed -i 's/return x + 3/return x - 3/' calc.py && rm README && mkdir -p pkg && printf 'NEW = 1\\n' > pkg/new.py", 10)
        sb.exec("python3 -c 'import calc'", 10)  # __pycache__ must stay out of the patch
        patch = sb.diff()
        assert patch.endswith("\n") and "pkg/new.py" in patch and "README" in patch and "__pycache__" not in patch
        assert sb.exec("git status --porcelain", 10).output.count("??") == 1  # diff() did not stage anything
    with DockerSandbox(repo_image, run_id=run_id) as fresh:
        applied = fresh.apply_patch(patch)
        assert applied.exit_code == 0 and applied.method == "git apply", applied.output
        assert fresh.diff() == patch


def test_apply_patch_falls_back_to_fuzz_and_reports_failures(repo_image: str, run_id: str) -> None:
    with DockerSandbox(repo_image, run_id=run_id) as sb:
        sb.exec("sed -i 's/return x + 5/return x * 5/' calc.py", 10)
        patch = sb.diff()
    with DockerSandbox(repo_image, run_id=run_id) as drifted:
        drifted.exec("sed -i 's/def f5(x):/def f5(x):  # drifted/' calc.py", 10)  # a context line changed
        applied = drifted.apply_patch(patch)
        assert applied.exit_code == 0 and applied.method == "patch", applied.output
        assert "return x * 5" in drifted.read_file("calc.py")
        bad = drifted.apply_patch("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n-nothing\n+like this\n")
        assert bad.exit_code != 0 and bad.method == ""
        assert "return x * 5" in drifted.read_file("calc.py")  # a failed attempt changed nothing


def test_no_container_left_behind_on_any_path(base: str, run_id: str) -> None:
    with pytest.raises(ValueError), DockerSandbox(base, run_id=run_id) as sb:
        assert containers(run_id) == 1
        raise ValueError("boom")
    with DockerSandbox(base, run_id=run_id, workdir="/") as sb:
        assert sb.exec("sleep 100", 1).timed_out
    with pytest.raises(KeyboardInterrupt), DockerSandbox(base, run_id=run_id) as sb:
        raise KeyboardInterrupt
    sb.close()  # idempotent
    with pytest.raises(SandboxClosed, match="closed"):
        sb.exec("true", 1)
    with pytest.raises(docker.errors.ImageNotFound, match="not found locally"):
        DockerSandbox("swesrl-test/no-such-image:1", run_id=run_id)
    assert containers(run_id) == 0


def test_ctrl_c_during_a_command_removes_the_container(base: str, run_id: str) -> None:
    script = (
        "import sys\nfrom swesrl.sandbox.docker_sandbox import DockerSandbox\n"
        f"with DockerSandbox({base!r}, run_id={run_id!r}, workdir='/') as sb:\n"
        "    print('running', flush=True)\n    sb.exec('sleep 100', 60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "running\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "KeyboardInterrupt" in err
    assert containers(run_id) == 0


def _leak_and_die(base: str, run_id: str, n: int) -> None:
    """Start `n` containers in a process killed by SIGKILL: what a crashed run leaves behind."""
    script = (
        "import os, signal\nfrom swesrl.sandbox.docker_sandbox import DockerSandbox\n"
        f"boxes = [DockerSandbox({base!r}, run_id={run_id!r}) for _ in range({n})]\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script], timeout=120)


def test_prune_removes_a_dead_runs_leftovers_keeps_a_live_ones_and_cli_says_so(base: str, run_id: str) -> None:
    _leak_and_die(base, run_id, 2)
    with DockerSandbox(base, run_id=run_id) as live:  # same run id, owner alive: never removed without --force
        assert containers(run_id) == 3
        res = CliRunner().invoke(app, ["sandbox", "prune", "--run-id", run_id])
        assert res.exit_code == 0 and "removed 2 container(s)" in res.output and "kept 1" in res.output, res.output
        assert containers(run_id) == 1 and live.exec("echo alive", 10).output == "alive\n"
        res = CliRunner().invoke(app, ["sandbox", "prune", "--run-id", run_id, "--force"])
        assert "removed 1 container(s)" in res.output and containers(run_id) == 0
    assert prune(run_id).removed == 0


def test_prune_without_a_run_id_spares_live_runs(base: str, run_id: str) -> None:
    dead = f"{run_id}-dead"
    _leak_and_die(base, dead, 1)
    with DockerSandbox(base, run_id=run_id) as live:
        done = prune()
        assert done.removed >= 1 and done.kept >= 1
        assert containers(dead) == 0 and containers(run_id) == 1
        assert live.exec("echo alive", 10).output == "alive\n"


def test_prune_spares_a_fresh_build_step_container(base: str) -> None:
    # What a daemon killed mid-`docker build` leaves: a never-started container of a swesrl image, carrying
    # the image's labels but no run id. A fresh one may be a live build's step: kept (older ones go).
    client = docker.from_env()
    leftover = client.containers.create(base, "true")
    try:
        prune()
        assert client.containers.get(leftover.id).status == "created"
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            leftover.remove(force=True)
        client.close()
