"""Per-instance cost of swesrl's evaluation against a minimal hand-written evaluator, on cached images.

The minimal evaluator is what anyone would write with the docker SDK: start a container of the
instance image (no limits, no watchdogs), one exec that takes the patch and the eval script on
stdin, applies one and runs the other, read the output, grade it with the same swebench parser,
remove the container. swesrl does the same in one exec (eval/instance_run.py) plus its limits, labels,
disk watch, tampering check and out-of-band status. Both run the same gold patches, interleaved
round-robin in one process, so load from other jobs hits both alike.

    python bench/eval_overhead.py --rounds 3
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from pathlib import Path

import docker

from swesrl.eval.environment import ensure_task_image
from swesrl.eval.evaluate import EvalOptions, evaluate_patch
from swesrl.eval.grading import grade_log
from swesrl.eval.scripts import eval_script
from swesrl.eval.tasks import load_tasks

ROOT = Path(__file__).resolve().parents[1]


def minimal(client: docker.DockerClient, image: str, task, patch: str) -> str:
    script = eval_script(task)
    c = client.containers.run(image, ["sleep", "infinity"], detach=True, network_mode="none", working_dir="/testbed")
    try:
        data = patch.encode()
        cmd = f'head -c {len(data)} > /tmp/p && git apply /tmp/p && cat > /tmp/s && bash /tmp/s'
        exec_id = client.api.exec_create(c.id, ["bash", "-c", cmd], stdin=True, workdir="/testbed")["Id"]
        sock = client.api.exec_start(exec_id, socket=True)
        raw: socket.socket = getattr(sock, "_sock", sock)
        raw.sendall(data + script.encode())
        raw.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := raw.recv(1 << 16):
            chunks.append(chunk)
        raw.close()
        out = b"".join(chunks)
        text, i = [], 0  # strip docker's 8-byte frame headers
        while i + 8 <= len(out):
            n = int.from_bytes(out[i + 4 : i + 8], "big")
            text.append(out[i + 8 : i + 8 + n])
            i += 8 + n
        return grade_log(b"".join(text).decode("utf-8", "replace"), task).status
    finally:
        c.remove(force=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tasks = load_tasks(ROOT / "examples" / "tasks" / "tasks.jsonl")
    options = EvalOptions()
    images = {t.instance_id: ensure_task_image(t) for t in tasks}
    client = docker.from_env()
    evaluate_patch(tasks[0], tasks[0].patch, run_id="bench-overhead", options=options)  # imports (swebench) paid once
    minimal(client, images[tasks[0].instance_id], tasks[0], tasks[0].patch)
    times: dict[str, list[float]] = {"swesrl": [], "minimal": []}
    statuses: dict[str, list[str]] = {"swesrl": [], "minimal": []}
    for _ in range(args.rounds):
        for t in tasks:
            t0 = time.monotonic()
            statuses["swesrl"].append(evaluate_patch(t, t.patch, run_id="bench-overhead", options=options).status)
            times["swesrl"].append(time.monotonic() - t0)
            t0 = time.monotonic()
            statuses["minimal"].append(minimal(client, images[t.instance_id], t, t.patch))
            times["minimal"].append(time.monotonic() - t0)
    n = len(times["swesrl"])
    for k in times:
        print(f"{k:8} median {statistics.median(times[k]):.3f} s, mean {statistics.mean(times[k]):.3f} s per instance "
              f"({n} evaluations, {statuses[k].count('resolved')} resolved)")
    ratio = statistics.median(times["swesrl"]) / statistics.median(times["minimal"])
    diff = statistics.median([a - b for a, b in zip(times["swesrl"], times["minimal"], strict=True)])
    print(f"swesrl / minimal: {ratio:.3f}x (medians); median per-instance difference {diff * 1000:+.0f} ms")


if __name__ == "__main__":
    main()
