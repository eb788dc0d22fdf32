"""Evaluation on a Ray cluster started here: a head without Docker slots and two worker nodes
offering one `docker` slot each, all on this machine (Ray addresses its nodes by the host's own
interface address, so no traffic leaves the machine). The CLI drives it as a user would."""

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

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.docker, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "tasks" / "tasks.jsonl"
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self) -> None:
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must fit in 107 bytes
        self.nodes: list[subprocess.Popen] = []

    def _start(self, *args: str) -> subprocess.Popen:
        log = open(Path(self.temp) / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 (lives as long as the node)
        proc = subprocess.Popen(["ray", "start", "--block", "--num-cpus", "1", "--dashboard-agent-listen-port", "0", *args],
                                env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(proc)
        return proc

    def _wait(self, docker_nodes: int) -> None:
        deadline = time.monotonic() + 120
        while self.alive_docker_nodes() < docker_nodes:
            logs = "\n".join(p.read_text()[-1500:] for p in sorted(Path(self.temp).glob("node*.log")))
            assert time.monotonic() < deadline, f"the local Ray cluster did not come up:\n{logs}"
            time.sleep(1)

    def start(self, workers: int) -> None:
        self._start("--head", "--port", str(self.port), "--include-dashboard", "false", "--temp-dir", self.temp)
        self._wait(0)
        for i in range(workers):  # one at a time: nodes starting together on one machine race for ports
            self._start("--address", self.address, "--resources", '{"docker": 1}')
            self._wait(i + 1)

    def alive_docker_nodes(self) -> int:
        code = (f"import ray; ray.init(address={self.address!r}, log_to_driver=False, logging_level='error'); "
                "print(sum(1 for n in ray.nodes() if n['Alive'] and n['Resources'].get('docker')))")
        out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
        return int(out.stdout.strip() or 0) if out.returncode == 0 else -1

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """The node and every process it started (raylet, its workers): a machine lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in reversed(self.nodes):
            self.kill(proc)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(request):
    c = LocalCluster()
    request.addfinalizer(c.stop)
    c.start(workers=2)
    return c


def _gold(path: Path, ids: list[str] | None = None) -> Path:
    rows = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps({"instance_id": r["instance_id"], "model_name_or_path": "gold", "model_patch": r["patch"]}) + "\n"
                            for r in rows if ids is None or r["instance_id"] in ids))
    return path


def _eval(preds: Path, run_id: str, runs: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from swesrl.cli import main; main()", "eval", "patches", "--tasks", str(TASKS),
           "--predictions", str(preds), "--run-id", run_id, "--runs-dir", str(runs), *extra]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)


def _report(runs: Path, run_id: str) -> dict:
    return json.loads((runs / run_id / "report.json").read_text())


def _containers(run_id: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=swesrl.run_id={run_id}"], capture_output=True, text=True, check=True)
    return out.stdout.split()


SAME = ("total_instances", "submitted_instances", "completed_instances", "resolved_instances", "unresolved_instances",
        "resolved_ids", "unresolved_ids", "error_ids", "empty_patch_ids")


def test_gold_patches_resolve_on_the_cluster_as_they_do_locally(cluster, tmp_path):
    ids = ["jpvanhal__inflection-1", "r1chardj0n3s__parse-1", "more-itertools__more-itertools-1"]
    preds = _gold(tmp_path / "gold.jsonl", ids)
    tag = f"{os.getpid()}"
    here = _eval(preds, f"ray-l-{tag}", tmp_path, "--workers", "2")
    there = _eval(preds, f"ray-r-{tag}", tmp_path, "--executor", "ray", "--address", cluster.address)
    assert here.returncode == 0, here.stderr[-2000:]
    assert there.returncode == 0, there.stderr[-2000:]
    local, remote = _report(tmp_path, f"ray-l-{tag}"), _report(tmp_path, f"ray-r-{tag}")
    assert remote["resolved_ids"] == sorted(ids)
    assert {k: remote[k] for k in SAME} == {k: local[k] for k in SAME}
    assert _containers(f"ray-r-{tag}") == []


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing_and_a_rerun_does_only_what_is_left(cluster, tmp_path):
    run_id = f"ray-k-{os.getpid()}"
    all_ids = ["jpvanhal__inflection-2", "r1chardj0n3s__parse-2", "more-itertools__more-itertools-2", "jpvanhal__inflection-3"]
    preds = _gold(tmp_path / "gold.jsonl", all_ids)
    cmd = [sys.executable, "-c", "from swesrl.cli import main; main()", "eval", "patches", "--tasks", str(TASKS),
           "--predictions", str(preds), "--run-id", run_id, "--runs-dir", str(tmp_path), "--executor", "ray",
           "--address", cluster.address, *(f"--instance={i}" for i in all_ids)]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_containers(run_id)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    cluster.kill(cluster.nodes[-1])  # the second worker node dies with its instance in flight
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    report = _report(tmp_path, run_id)
    reported = report["resolved_ids"] + report["unresolved_ids"] + report["error_ids"] + report["empty_patch_ids"]
    assert sorted(reported) == sorted(all_ids)  # each instance exactly once
    assert report["resolved_ids"] == sorted(all_ids), report["error_ids"]  # the lost task ran again elsewhere
    assert all((tmp_path / run_id / iid / "result.json").is_file() for iid in all_ids)

    kept = {iid: (tmp_path / run_id / iid / "result.json").stat().st_mtime_ns for iid in all_ids[1:]}
    (tmp_path / run_id / all_ids[0] / "result.json").unlink()  # as if the driver died before writing it
    again = _eval(preds, run_id, tmp_path, "--executor", "ray", "--address", cluster.address, *(f"--instance={i}" for i in all_ids))
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{all_ids[0]}: resolved" in again.stderr
    assert {iid: (tmp_path / run_id / iid / "result.json").stat().st_mtime_ns for iid in all_ids[1:]} == kept
    assert _report(tmp_path, run_id)["resolved_ids"] == sorted(all_ids)
    assert _containers(run_id) == []


def test_an_unreachable_cluster_is_one_line(tmp_path):
    preds = _gold(tmp_path / "gold.jsonl", ["jpvanhal__inflection-1"])
    done = _eval(preds, f"ray-u-{os.getpid()}", tmp_path, "--executor", "ray", "--address", f"127.0.0.1:{_free_port()}")
    assert done.returncode == 1
    assert "no Ray cluster at" in done.stderr and "Traceback" not in done.stderr


def test_the_rlvr_reward_scores_on_the_cluster_and_a_lost_cluster_voids_the_group(cluster):
    """The trainer's process has no `docker` slot; the patches are tested on the worker nodes."""
    from swesrl.eval.evaluate import EvalOptions
    from swesrl.eval.tasks import load_tasks
    from swesrl.executors import RayExecutor
    from swesrl.training.rlvr import make_rlvr_reward
    from swesrl.trajectories.edits import patch_to_edits, render_search_replace

    task = next(t for t in load_tasks(TASKS) if t.instance_id == "jpvanhal__inflection-1")
    path = "inflection/__init__.py"
    files = {task.instance_id: {path: _base_file(task, path)}}

    def answer(edits: str) -> list[dict]:
        return [{"role": "assistant", "content": f"<think>x</think>\n{edits}"}]

    gold = answer(render_search_replace(patch_to_edits(task.patch)))
    wrong = answer(f"### {path}\n<<<<<<< SEARCH\n    if number % 100 in (11, 12):\n=======\n    if number % 100 in (11, 12, 14):\n"
                   ">>>>>>> REPLACE\n")
    try:
        executor = RayExecutor(cluster.address)
        reward = make_rlvr_reward({task.instance_id: task}, files, EvalOptions(), run_id=f"ray-rlvr-{os.getpid()}",
                                  executor=executor)
        assert reward(prompts=[[]] * 3, completions=[gold, wrong, gold], instance_id=[task.instance_id] * 3) == [1.0, 0.0, 1.0]

        class Gone:  # the cluster stopped answering mid-call
            def map(self, fn, calls, cleanup=None):
                raise ConnectionError("GCS unreachable")
                yield

        lost = make_rlvr_reward({task.instance_id: task}, files, EvalOptions(), executor=Gone())  # type: ignore[arg-type]
        assert lost(prompts=[[]] * 2, completions=[gold, wrong], instance_id=[task.instance_id] * 2) == [None, None]
    finally:
        ray.shutdown()


def _base_file(task, path: str) -> str:
    from swesrl.eval.evaluate import EvalOptions
    from swesrl.training.rlvr import read_base_files

    text = read_base_files(task, EvalOptions())[path]
    assert text is not None
    return text
