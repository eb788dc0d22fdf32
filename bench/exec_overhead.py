"""How much DockerSandbox.exec costs over a bare `docker exec`, in the same container and run.

DockerSandbox.exec does more than `docker exec`: `timeout -s KILL` inside, a host-side deadline,
merged and capped output, and `kill -9 -1` after the command. This measures what that costs on
`true` (the worst case: the command itself is free), interleaving the three ways round-robin so
load changes hit all of them alike. Goal: median ratio vs the CLI <= 1.2.

    python bench/exec_overhead.py [--n 60]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

import docker

from swesrl.sandbox.docker_sandbox import DockerSandbox
from swesrl.sandbox.images import ensure_base_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="calls per method")
    args = ap.parse_args()
    image = ensure_base_image()
    client = docker.from_env()
    times: dict[str, list[float]] = {"cli": [], "sdk": [], "sandbox": []}
    with DockerSandbox(image, run_id="bench-exec", workdir="/") as sb:
        container = client.containers.get(sb.container_id)

        def cli() -> None:
            subprocess.run(["docker", "exec", sb.container_id, "true"], check=True)

        def sdk() -> None:
            assert container.exec_run(["true"]).exit_code == 0

        def sandbox() -> None:
            assert sb.exec("true", 30).exit_code == 0

        ways = {"cli": cli, "sdk": sdk, "sandbox": sandbox}
        for f in ways.values():  # warm up
            f()
        for _ in range(args.n):
            for name, f in ways.items():
                t = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"exec('true'), {args.n} calls each, median ms (p10-p90):")
    for k, v in times.items():
        q = statistics.quantiles(v, n=10)
        print(f"  {k:8s} {med[k]:6.1f}  ({q[0] * 1000:.1f}-{q[-1] * 1000:.1f})")
    print(f"ratio sandbox/cli: {med['sandbox'] / med['cli']:.2f}  (goal <= 1.2)")
    print(f"ratio sandbox/sdk: {med['sandbox'] / med['sdk']:.2f}")


if __name__ == "__main__":
    main()
