"""Hostile commands against the sandbox, each with the bound that holds, measured in one run.

Every row runs the attack for real (small sizes: this is a shared machine) and prints what was
observed next to the bound swesrl promises. See BENCHMARKS.md, "Reliability".

    python bench/reliability.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker

from swesrl.eval.predictions import load_predictions
from swesrl.eval.tampering import find_tampering
from swesrl.eval.tasks import load_tasks
from swesrl.sandbox.docker_sandbox import DockerSandbox, Limits
from swesrl.sandbox.images import ensure_base_image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "swebench"
MB = 1_000_000


def row(attack: str, bound: str, observed: str) -> None:
    print(f"| {attack} | {bound} | {observed} |", flush=True)


def left(run_id: str) -> int:
    return len(docker.from_env().containers.list(all=True, filters={"label": f"swesrl.run_id={run_id}"}))


def main() -> None:
    base = ensure_base_image()
    run_id = f"bench-rel-{uuid.uuid4().hex[:6]}"
    print("| attack | bound | observed |\n|---|---|---|")
    with DockerSandbox(base, run_id=run_id, workdir="/root") as sb:
        times = []
        for cmd in ["yes", "cat /dev/zero", "yes | head -c 2000000000"]:
            r = sb.exec(cmd, 600)
            times.append(r.duration)
        row("`yes`, `cat /dev/zero`, `yes \\| head -c 2G` (default limits)",
            f"killed after {Limits().stream_bytes // MB} MB printed; {Limits().output_bytes // MB} MB kept",
            f"stopped in {min(times):.1f}-{max(times):.1f} s, exit 137, {len(r.output) // 1000} kB kept, next command runs")

    limits = Limits(disk_bytes=500 * MB, file_size=200 * MB)
    with DockerSandbox(base, run_id=run_id, workdir="/root", limits=limits) as sb:
        t = time.monotonic()
        r = sb.exec("i=0; while :; do head -c 190000000 /dev/zero > f$i || exit 1; i=$((i+1)); done", 120)
        took = time.monotonic() - t
        used = int(sb.exec("du -sb /root | cut -f1", 30).output.split()[0])
        row("write files until the disk fills (bound 500 MB here; default 4 GiB)", "writable layer <= bound + ~1 s of writing",
            f"killed after {took:.1f} s at {used / MB:.0f} MB ({(used - 500 * MB) / MB:+.0f} MB past the bound)")
        sb.exec("rm -f /root/f*", 30)
        sb.exec("head -c 20000000 /dev/zero | tr '\\0' x | fold -w 100 > /proc/1/fd/1", 60)
        log = docker.from_env().containers.get(sb.container_id).attrs["LogPath"]
        size = os.path.getsize(log) if os.path.exists(log) else -1
        row("20 MB written to PID 1's stdout (the container log)", "json-file log <= 1 MB (max-size 1m, 1 file)",
            f"log file {size / MB:.2f} MB" if size >= 0 else "log file not visible from here")

    script = f"""
from swesrl.agent.tools import Editor, execute
from swesrl.sandbox.docker_sandbox import DockerSandbox
from swesrl.trajectories import View
def peak():
    return int(next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")).split()[1])
with DockerSandbox({base!r}, run_id={run_id!r}, workdir="/root") as sb:
    sb.exec("head -c 75000000 /dev/urandom | base64 > big.txt", 120)
    before = peak()
    out = execute(View("big.txt"), sb, Editor("/root"), 60)
    print(before, peak(), len(out))
"""
    before, after, n = (int(x) for x in subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                                       check=True).stdout.split())
    row("editor `view` of a 100 MB file", "host reads <= 8 MB of a file; view shows 2,000 lines",
        f"process peak RSS {before / 1000:.0f} -> {after / 1000:.0f} MB, observation {n // 1000} kB")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        code = (f"from swesrl.sandbox.docker_sandbox import DockerSandbox\nwith DockerSandbox({base!r}, run_id={run_id!r}) as sb:\n"
                "    print('up', flush=True)\n    sb.exec('sleep 100', 60)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        proc.stdout.readline()
        time.sleep(0.5)
        t = time.monotonic()
        proc.send_signal(sig)
        proc.wait(30)
        row(f"{sig.name} mid-command", "handled like Ctrl-C: containers removed", f"exited in {time.monotonic() - t:.2f} s, {left(run_id)} container(s) left")

    gold = [t for f in (SHARED / "swebench_lite_dev.csv", SHARED / "instances.jsonl") if f.exists() for t in load_tasks(f)]
    flagged = sum(bool(find_tampering(t.patch, t)) for t in gold)
    preds = load_predictions(SHARED / "predictions-example-openhands.json")[0] if SHARED.exists() else []
    tpl = gold[0] if gold else None
    from dataclasses import replace

    pflag = sum(bool(find_tampering(p.model_patch, replace(tpl, repo=p.instance_id.rsplit("-", 1)[0].replace("__", "/"),
                                                            test_patch="", FAIL_TO_PASS=[], PASS_TO_PASS=[])))
                for p in preds) if tpl else 0
    row("tampering check on legitimate patches", "no false findings",
        f"{flagged}/{len(gold)} SWE-bench gold patches, {pflag}/{len(preds)} OpenHands predictions flagged")


if __name__ == "__main__":
    main()
