"""Agent runs, evaluations and RLVR rewards on a Ray cluster started here: a head without Docker slots
(the trainer, the driver) and two worker nodes offering one `docker` slot each, all on this machine
and on a loopback address. The drivers run with Docker unreachable (DOCKER_HOST points nowhere), so
every container these tests see was started by a Ray task on a worker node. One cluster serves the
module; the test that kills a worker comes last."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import import_extra

ray = import_extra("ray", extra="ray")

pytestmark = [pytest.mark.docker, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "tasks" / "tasks.jsonl"
# Loopback, but not an address Ray replaces with the host's interface address (it does so for 127.0.0.1).
NODE_IP = "127.0.0.2"
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
# the bundled tasks whose tests take a few seconds (more-itertools' take 15)
FAST = ["jpvanhal__inflection-1", "jpvanhal__inflection-2", "jpvanhal__inflection-3", "r1chardj0n3s__parse-1",
        "r1chardj0n3s__parse-2"]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self) -> None:
        self.port, self.client_port = _free_port(), _free_port()
        self.address = f"{NODE_IP}:{self.port}"
        self.client_address = f"ray://{NODE_IP}:{self.client_port}"  # Ray Client, as a remote user connects
        self.temp = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must fit in 107 bytes
        self.nodes: list[subprocess.Popen] = []

    def _start(self, *args: str) -> subprocess.Popen:
        log = open(Path(self.temp) / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 (lives as long as the node)
        proc = subprocess.Popen(["ray", "start", "--block", "--num-cpus", "1", "--node-ip-address", NODE_IP,
                                 "--dashboard-agent-listen-port", "0", *args],
                                env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(proc)
        return proc

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + 120
        while not ready():
            logs = "\n".join(p.read_text()[-1500:] for p in sorted(Path(self.temp).glob("node*.log")))
            assert time.monotonic() < deadline, f"the local Ray cluster did not come up ({what}):\n{logs}"
            time.sleep(0.25)

    def start(self, workers: int) -> None:
        """The head, then the workers one at a time (nodes starting together on one machine race for
        ports); this process joins as a driver and watches them arrive."""
        self._start("--head", "--port", str(self.port), "--ray-client-server-port", str(self.client_port),
                    "--include-dashboard", "false", "--temp-dir", self.temp)
        self._wait(self._gcs_up, "the head")
        ray.init(address=self.address, log_to_driver=False, logging_level="error")
        for i in range(workers):
            self._start("--address", self.address, "--resources", '{"docker": 1}')
            self._wait(lambda n=i + 1: self.docker_nodes() >= n, f"worker {i + 1}")

    def _gcs_up(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((NODE_IP, self.port), timeout=1):
            return True
        return False

    @staticmethod
    def docker_nodes() -> int:
        return sum(1 for n in ray.nodes() if n["Alive"] and n["Resources"].get("docker"))

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """The node and every process it started (raylet, its workers): a machine lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        ray.shutdown()
        for proc in reversed(self.nodes):
            self.kill(proc)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(request):
    c = LocalCluster()
    request.addfinalizer(c.stop)
    c.start(workers=2)
    return c


def _gold(path: Path, ids: list[str]) -> Path:
    rows = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps({"instance_id": r["instance_id"], "model_name_or_path": "gold", "model_patch": r["patch"]}) + "\n"
                            for r in rows if r["instance_id"] in ids))
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from swesrl.cli import main; main()", *args]


def _patches(preds: Path, run_id: str, runs: Path, ids: list[str], *extra: str) -> list[str]:
    return _cli("eval", "patches", "--tasks", str(TASKS), "--predictions", str(preds), "--run-id", run_id,
                "--runs-dir", str(runs), *(f"--instance={i}" for i in ids), *extra)


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _report(runs: Path, run_id: str) -> dict:
    return json.loads((runs / run_id / "report.json").read_text())


def _containers(run_id: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=swesrl.run_id={run_id}"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def _progress_lines(stderr: str, iid: str) -> int:
    return sum(line.startswith(f"{iid}: ") for line in stderr.splitlines())


SAME = ("total_instances", "submitted_instances", "completed_instances", "resolved_instances", "unresolved_instances",
        "resolved_ids", "unresolved_ids", "error_ids", "empty_patch_ids")


def test_an_unreachable_cluster_is_one_line(tmp_path):
    preds = _gold(tmp_path / "gold.jsonl", FAST[:1])
    done = _run(_patches(preds, f"ray-u-{os.getpid()}", tmp_path, FAST[:1], "--executor", "ray", "--address",
                         f"127.0.0.1:{_free_port()}"), _env())
    assert done.returncode == 1
    assert "no Ray cluster at" in done.stderr and "Traceback" not in done.stderr


def test_gold_patches_resolve_on_the_cluster_as_they_do_locally(cluster, tmp_path):
    """Through Ray Client (ray://HOST:PORT), from a driver without Docker."""
    ids, tag = FAST[0::3], os.getpid()  # inflection-1, parse-1
    preds = _gold(tmp_path / "gold.jsonl", ids)
    here = _run(_patches(preds, f"ray-l-{tag}", tmp_path, ids, "--workers", "2"), _env())
    there = _run(_patches(preds, f"ray-r-{tag}", tmp_path, ids, "--executor", "ray", "--address", cluster.client_address),
                 _env(**NO_DOCKER))
    assert here.returncode == 0, here.stderr[-2000:]
    assert there.returncode == 0, there.stderr[-2000:]
    local, remote = _report(tmp_path, f"ray-l-{tag}"), _report(tmp_path, f"ray-r-{tag}")
    assert remote["resolved_ids"] == sorted(ids)
    assert {k: remote[k] for k in SAME} == {k: local[k] for k in SAME}
    assert _containers(f"ray-r-{tag}") == []


def test_the_agent_runs_and_is_evaluated_on_the_cluster(cluster, tmp_path):
    """`eval run --executor ray`: each agent run is a task on a worker node; its trajectory comes back
    to the driver, which has no Docker; then the patches are evaluated there too."""
    run_id, ids = f"ray-a-{os.getpid()}", FAST[1::3]  # inflection-2, parse-2
    done = _run(_cli("eval", "run", "--tasks", str(TASKS), "--model", "replay", "--run-id", run_id, "--runs-dir", str(tmp_path),
                     "--executor", "ray", "--address", cluster.address, *(f"--instance={i}" for i in ids)), _env(**NO_DOCKER))
    assert done.returncode == 0, done.stderr[-3000:]
    assert _report(tmp_path, run_id)["resolved_ids"] == sorted(ids)
    for iid in ids:
        saved = json.loads((tmp_path / run_id / "trajectories" / f"{iid}.jsonl").read_text())
        assert saved["metadata"]["exit_status"] == "submitted" and saved["steps"] and saved["outcome"] == "resolved"
        assert saved["final_patch"].startswith("diff --git")
    preds = [json.loads(line) for line in (tmp_path / run_id / "predictions.jsonl").read_text().splitlines()]
    assert sorted(p["instance_id"] for p in preds) == sorted(ids) and all(p["model_name_or_path"].startswith("replay:") for p in preds)
    assert _containers(run_id) == []


def test_the_rlvr_reward_reads_files_and_scores_on_the_cluster_and_a_lost_cluster_voids_the_group(cluster, tmp_path, monkeypatch):
    """The trainer (this process) has no Docker and no `docker` slot: the prompt's base files are read
    and the patches tested on the worker nodes."""
    from swesrl.eval.evaluate import EvalOptions
    from swesrl.eval.tasks import load_tasks
    from swesrl.executors import RayExecutor
    from swesrl.training.rlvr import base_files, make_rlvr_reward
    from swesrl.trajectories.edits import patch_to_edits, render_search_replace

    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER["DOCKER_HOST"])
    task = next(t for t in load_tasks(TASKS) if t.instance_id == FAST[0])
    path = "inflection/__init__.py"
    executor = RayExecutor(cluster.address)
    files = base_files([task], EvalOptions(), tmp_path / "files.jsonl", executor=executor)
    assert list(files) == [task.instance_id] and "def ordinal(" in (files[task.instance_id][path] or "")

    def answer(edits: str) -> list[dict]:
        return [{"role": "assistant", "content": f"<think>x</think>\n{edits}"}]

    gold = answer(render_search_replace(patch_to_edits(task.patch)))
    wrong = answer(f"### {path}\n<<<<<<< SEARCH\n    if number % 100 in (11, 12):\n=======\n    if number % 100 in (11, 12, 14):\n"
                   ">>>>>>> REPLACE\n")
    reward = make_rlvr_reward({task.instance_id: task}, files, EvalOptions(), run_id=f"ray-rlvr-{os.getpid()}", executor=executor)
    assert reward(prompts=[[]] * 3, completions=[gold, wrong, gold], instance_id=[task.instance_id] * 3) == [1.0, 0.0, 1.0]

    class Gone:  # the cluster stopped answering mid-call
        remote = True

        def map(self, fn, calls, cleanup=None):
            raise ConnectionError("GCS unreachable")
            yield

    lost = make_rlvr_reward({task.instance_id: task}, files, EvalOptions(), executor=Gone())  # type: ignore[arg-type]
    assert lost(prompts=[[]] * 2, completions=[gold, wrong], instance_id=[task.instance_id] * 2) == [None, None]


def _results(run_dir: Path) -> dict[str, int]:
    """Each instance's saved result (parsed whole: a half-written one fails here) and its mtime."""
    out = {}
    for f in run_dir.glob("*/result.json"):
        row = json.loads(f.read_text())
        assert row["instance_id"] == f.parent.name and row["status"]
        out[row["instance_id"]] = f.stat().st_mtime_ns
    return out


def test_ctrl_c_cancels_the_tasks_leaves_no_container_and_a_rerun_does_only_what_is_left(cluster, tmp_path):
    run_id, ids = f"ray-c-{os.getpid()}", FAST[2:5]
    preds = _gold(tmp_path / "gold.jsonl", ids)
    cmd = _patches(preds, run_id, tmp_path, ids, "--executor", "ray", "--address", cluster.address)
    proc = subprocess.Popen(cmd, env=_env(**NO_DOCKER), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not (_results(tmp_path / run_id) and _containers(run_id)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=120)
    assert proc.returncode not in (0, None), err[-2000:]
    assert _containers(run_id) == []  # on every node (here: one daemon for both)
    kept = _results(tmp_path / run_id)
    assert 0 < len(kept) < len(ids), f"the interrupt came too late or too early to test anything: {err[-2000:]}"
    assert not list((tmp_path / run_id).rglob("*.tmp"))

    again = _run(cmd, _env(**NO_DOCKER))
    assert again.returncode == 0, again.stderr[-2000:]
    assert _report(tmp_path, run_id)["resolved_ids"] == sorted(ids)
    assert {iid: t for iid, t in _results(tmp_path / run_id).items() if iid in kept} == kept  # not redone
    assert sorted(iid for iid in ids if _progress_lines(again.stderr, iid)) == sorted(set(ids) - set(kept))
    assert _containers(run_id) == []


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(cluster, tmp_path):
    """Last in the module: it leaves the cluster one worker short."""
    run_id, ids = f"ray-k-{os.getpid()}", FAST[:3]
    preds = _gold(tmp_path / "gold.jsonl", ids)
    cmd = _patches(preds, run_id, tmp_path, ids, "--executor", "ray", "--address", cluster.address)
    proc = subprocess.Popen(cmd, env=_env(**NO_DOCKER), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while len(_containers(run_id)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert len(_containers(run_id)) == 2, "both workers should hold an instance when one is killed"
    cluster.kill(cluster.nodes[-1])  # the second worker node dies with its instance in flight
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    report = _report(tmp_path, run_id)
    assert report["resolved_ids"] == sorted(ids), err[-2000:]  # the lost task ran again on the other worker
    assert [_progress_lines(err, iid) for iid in ids] == [1, 1, 1]  # each reported exactly once
    assert sorted(_results(tmp_path / run_id)) == sorted(ids)
    assert _containers(run_id) == []
