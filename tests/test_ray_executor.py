"""Agent runs, evaluations and RLVR rewards on a Ray cluster started here: a head without Docker slots
(the trainer, the driver) and two worker nodes offering one `docker` slot each, all on this machine
and on a loopback address. The drivers (this process, joined once for the module, and the CLI in a
process of its own) run with Docker unreachable (DOCKER_HOST points nowhere), so every container
these tests see was started by a Ray task on a worker node. The test that kills a worker comes last."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import import_extra, short_temp_dir

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


HOST_ENV = dict(os.environ)  # as the tests found it: the nodes and `docker ps` use the real daemon


def _env(**extra: str) -> dict[str, str]:
    return {**HOST_ENV, "RAY_USAGE_STATS_ENABLED": "0", **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self) -> None:
        self.port, self.client_port = _free_port(), _free_port()
        self.address = f"{NODE_IP}:{self.port}"
        self.client_address = f"ray://{NODE_IP}:{self.client_port}"  # Ray Client, as a remote user connects
        self.temp = short_temp_dir("ray")  # Ray's socket paths must fit in 107 bytes
        self.nodes: list[subprocess.Popen] = []

    def _start(self, *args: str) -> subprocess.Popen:
        log = open(Path(self.temp) / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 (lives as long as the node)
        proc = subprocess.Popen(["ray", "start", "--block", "--num-cpus", "1", "--node-ip-address", NODE_IP,
                                 "--dashboard-agent-listen-port", "0", "--include-log-monitor", "false", *args],
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
        """The node and every process it started (raylet, its workers): a machine lost. Only once: after
        the wait its pid, and so its group id, may be given to any new process on the machine."""
        if proc.returncode is None:
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


def _tasks(ids: list[str]) -> list:
    from swesrl.eval.tasks import load_tasks

    return [t for t in load_tasks(TASKS) if t.instance_id in ids]


def _gold(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(json.dumps({"instance_id": t.instance_id, "model_name_or_path": "gold", "model_patch": t.patch}) + "\n"
                            for t in _tasks(ids)))
    return path


def _gold_predictions(ids: list[str]) -> list:
    from swesrl.eval.predictions import Prediction

    return [Prediction(t.instance_id, t.patch, "gold") for t in _tasks(ids)]


def _patches(preds: Path, run_id: str, runs: Path, ids: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-c", "from swesrl.cli import main; main()", "eval", "patches", "--tasks", str(TASKS),
            "--predictions", str(preds), "--run-id", run_id, "--runs-dir", str(runs), *(f"--instance={i}" for i in ids), *extra]


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _report(runs: Path, run_id: str) -> dict:
    return json.loads((runs / run_id / "report.json").read_text())


def _containers(run_id: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=swesrl.run_id={run_id}"], env=HOST_ENV, capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


def _containers_gone(run_id: str, within: float = 30) -> list[str]:
    """The run's containers still there after `within` seconds: a cancelled Ray task removes its
    container in its own worker, which may finish that after the driver has exited."""
    deadline = time.monotonic() + within
    while (left := _containers(run_id)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def _results(run_dir: Path) -> dict[str, int]:
    """Each instance's saved result (parsed whole: a half-written one fails here) and its mtime."""
    out = {}
    for f in run_dir.glob("*/result.json"):
        row = json.loads(f.read_text())
        assert row["instance_id"] == f.parent.name and row["status"]
        out[row["instance_id"]] = f.stat().st_mtime_ns
    return out


SAME = ("total_instances", "submitted_instances", "completed_instances", "resolved_instances", "unresolved_instances",
        "resolved_ids", "unresolved_ids", "error_ids", "empty_patch_ids")


def test_an_unreachable_cluster_is_one_line(tmp_path):
    preds = _gold(tmp_path / "gold.jsonl", FAST[:1])
    done = _run(_patches(preds, f"ray-u-{os.getpid()}", tmp_path, FAST[:1], "--executor", "ray", "--address",
                         f"127.0.0.1:{_free_port()}"), _env())
    assert done.returncode == 1
    assert "no Ray cluster at" in done.stderr and "Traceback" not in done.stderr


def test_gold_patches_resolve_on_the_cluster_as_they_do_locally(cluster, tmp_path, monkeypatch):
    from swesrl.eval.evaluate import evaluate_predictions
    from swesrl.executors import RayExecutor

    ids, tag = FAST[0::3], os.getpid()  # inflection-1, parse-1
    local = evaluate_predictions(_tasks(ids), _gold_predictions(ids), f"ray-l-{tag}", workers=2, runs_dir=tmp_path).summary
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER["DOCKER_HOST"])
    remote = evaluate_predictions(_tasks(ids), _gold_predictions(ids), f"ray-r-{tag}", runs_dir=tmp_path,
                                  executor=RayExecutor(cluster.address)).summary
    assert remote["resolved_ids"] == sorted(ids)
    assert {k: remote[k] for k in SAME} == {k: local[k] for k in SAME}
    assert _containers(f"ray-r-{tag}") == []


def test_the_agent_runs_and_is_evaluated_on_the_cluster(cluster, tmp_path, monkeypatch):
    """`eval run --executor ray`: each agent run is a task on a worker node, its trajectory comes back
    to the driver, and the patches are evaluated there too."""
    from swesrl.executors import ExecutorConfig
    from swesrl.pipeline import run_and_evaluate
    from swesrl.run_config import RunConfig

    run_id, ids = f"ray-a-{os.getpid()}", FAST[1::3]  # inflection-2, parse-2
    config = RunConfig(tasks=str(TASKS), run_id=run_id, runs_dir=str(tmp_path), instances=tuple(ids),
                       executor=ExecutorConfig("ray", cluster.address))
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER["DOCKER_HOST"])
    lines: list[str] = []
    outcome = run_and_evaluate(config, _tasks(ids), on_line=lines.append)
    assert outcome.report.summary["resolved_ids"] == sorted(ids) and outcome.missing == [], "\n".join(lines)
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
    from swesrl.executors import RayExecutor
    from swesrl.training.rlvr import base_files, make_rlvr_reward
    from swesrl.trajectories.edits import patch_to_edits, render_search_replace

    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER["DOCKER_HOST"])
    [task] = _tasks(FAST[:1])
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


def test_ctrl_c_cancels_the_tasks_leaves_no_container_and_a_rerun_does_only_what_is_left(cluster, tmp_path):
    """The CLI as a user runs it; the rerun connects through Ray Client (ray://HOST:PORT)."""
    run_id, ids = f"ray-c-{os.getpid()}", FAST[2:5]
    preds = _gold(tmp_path / "gold.jsonl", ids)
    cmd = _patches(preds, run_id, tmp_path, ids, "--executor", "ray")
    proc = subprocess.Popen([*cmd, "--address", cluster.address], env=_env(**NO_DOCKER), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not (_results(tmp_path / run_id) and _containers(run_id)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=120)
    assert proc.returncode not in (0, None), err[-2000:]
    assert _containers_gone(run_id) == []  # on every node (here: one daemon for both)
    kept = _results(tmp_path / run_id)
    assert 0 < len(kept) < len(ids), f"the interrupt came too late or too early to test anything: {err[-2000:]}"
    assert not list((tmp_path / run_id).rglob("*.tmp"))

    again = _run([*cmd, "--address", cluster.client_address], _env(**NO_DOCKER))
    assert again.returncode == 0, again.stderr[-2000:]
    assert _report(tmp_path, run_id)["resolved_ids"] == sorted(ids)
    assert {iid: t for iid, t in _results(tmp_path / run_id).items() if iid in kept} == kept  # not redone
    redone = [iid for iid in ids if any(line.startswith(f"{iid}: ") for line in again.stderr.splitlines())]
    assert sorted(redone) == sorted(set(ids) - set(kept))
    assert _containers(run_id) == []


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(cluster, tmp_path, monkeypatch):
    """Last in the module: it leaves the cluster one worker short."""
    from swesrl.eval.evaluate import evaluate_predictions
    from swesrl.executors import RayExecutor

    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER["DOCKER_HOST"])
    ids = FAST[:2]
    reported: list[str] = []
    outcome: dict = {}

    def evaluate(run_id: str) -> None:
        outcome["report"] = evaluate_predictions(_tasks(ids), _gold_predictions(ids), run_id, runs_dir=tmp_path,
                                                 executor=RayExecutor(cluster.address),
                                                 on_result=lambda r, reused: reported.append(r.instance_id))

    # The kill must find both instances in flight. Two short instances do not always overlap (a slot still
    # held by a task of the previous test's killed driver, a slow worker start): then the batch is run
    # again under a new run id, at most three times, and the kill comes once both workers hold one.
    for attempt in range(3):
        run_id = f"ray-k-{os.getpid()}-{attempt}"
        reported.clear()
        outcome.clear()
        deadline = time.monotonic() + 120
        while ray.available_resources().get("docker", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        batch = threading.Thread(target=evaluate, args=(run_id,))
        batch.start()
        deadline = time.monotonic() + 180
        while len(_containers(run_id)) < 2 and time.monotonic() < deadline and batch.is_alive():
            time.sleep(0.2)
        if len(_containers(run_id)) == 2:
            break
        batch.join(timeout=300)
    else:
        pytest.fail(f"the two instances never ran at once in 3 batches (last: {reported=}, {outcome=}, "
                    f"slots {ray.available_resources()})")
    cluster.kill(cluster.nodes[-1])  # the second worker node dies with its instance in flight
    batch.join(timeout=300)
    assert sorted(reported) == sorted(ids)  # each reported exactly once
    assert outcome["report"].summary["resolved_ids"] == sorted(ids)  # the lost one ran again on the other worker
    assert sorted(_results(tmp_path / run_id)) == sorted(ids)
    assert _containers(run_id) == []
