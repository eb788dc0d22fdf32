"""Instances per hour: the local executor against Ray with 1 and 2 worker nodes, same tasks, same run.

The gold patches of the bundled tasks (images built beforehand, so every arm measures evaluation,
not builds) are evaluated by `swesrl eval patches` three ways: `--workers 2` here, and
`--executor ray` on a cluster of this machine with one, then two, worker nodes of one `docker` slot
each. All arms share one machine and one Docker daemon, so the Ray arms measure Ray's overhead and
that the slots add up, not more hardware.

    python bench/eval_scale.py            # prints a JSON line per arm and the ratios to the local arm
"""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "tasks" / "tasks.jsonl"
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_nodes(address: str) -> int:
    code = (f"import ray; ray.init(address={address!r}, log_to_driver=False, logging_level='error'); "
            "print(sum(1 for n in ray.nodes() if n['Alive'] and n['Resources'].get('docker')))")
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)
    return int(out.stdout.strip() or 0) if out.returncode == 0 else -1


def _cluster(workers: int) -> tuple[str, list[subprocess.Popen], str]:
    port, temp = _port(), tempfile.mkdtemp(prefix="ray")
    # a loopback address Ray keeps (it replaces 127.0.0.1 with the host's interface address)
    address = f"127.0.0.2:{port}"
    base = ["ray", "start", "--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.2", "--dashboard-agent-listen-port", "0"]
    nodes = [subprocess.Popen([*base, "--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    while _ray_nodes(address) < 0:
        time.sleep(1)
    for i in range(workers):
        nodes.append(subprocess.Popen([*base, "--address", address, "--resources", '{"docker": 1}'], env=ENV,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        while _ray_nodes(address) < i + 1:
            time.sleep(1)
    return address, nodes, temp


def _evaluate(preds: Path, runs: Path, run_id: str, *extra: str) -> float:
    t = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "swesrl", "eval", "patches", "--tasks", str(TASKS), "--predictions", str(preds),
                           "--run-id", run_id, "--runs-dir", str(runs), *extra], env=ENV, capture_output=True, text=True)
    seconds = time.monotonic() - t
    if done.returncode != 0:
        raise SystemExit(f"{run_id}: {done.stderr[-2000:]}")
    report = json.loads((runs / run_id / "report.json").read_text())
    assert report["resolved_instances"] == report["total_instances"], report["error_ids"]
    return seconds


def main() -> None:
    rows = [json.loads(line) for line in TASKS.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        runs, preds = Path(tmp), Path(tmp) / "gold.jsonl"
        preds.write_text("".join(json.dumps({"instance_id": r["instance_id"], "model_name_or_path": "gold",
                                             "model_patch": r["patch"]}) + "\n" for r in rows))
        _evaluate(preds, runs, "warm", "--workers", "2")  # builds what is missing; not timed
        tag = os.getpid()
        arms = {"local, 2 threads": _evaluate(preds, runs, f"local-{tag}", "--workers", "2")}
        for workers in (1, 2):
            address, nodes, temp = _cluster(workers)
            try:
                arms[f"ray, {workers} worker node(s)"] = _evaluate(preds, runs, f"ray{workers}-{tag}", "--executor", "ray",
                                                                   "--address", address)
            finally:
                for node in reversed(nodes):
                    os.killpg(node.pid, signal.SIGKILL)
                    node.wait()
                shutil.rmtree(temp, ignore_errors=True)
    base = arms["local, 2 threads"]
    for name, seconds in arms.items():
        print(json.dumps({"arm": name, "instances": len(rows), "seconds": round(seconds, 1),
                          "instances_per_hour": round(3600 * len(rows) / seconds), "time_vs_local": round(seconds / base, 2)}))


if __name__ == "__main__":
    main()
