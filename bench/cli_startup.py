"""How long `swesrl --help` takes against a bare Python start, measured in the same run.

The CLI loads a subcommand's module only when that subcommand runs, so the help screen and
`--version` pay for typer, not for the agent, training or Docker code. `import typer` alone is the
floor. Commands run interleaved, round-robin, so load changes on a shared machine hit all alike;
CPU time (user + sys of the child) is reported beside wall time because it is steadier under load.
Goal: `swesrl --help` under 2x a bare start.

    python bench/cli_startup.py [--n 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of ``cmd``."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (status {status})")
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=15, help="runs of each command")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import typer'": [py, "-c", "import typer"],
        "swesrl --help": [py, "-m", "swesrl", "--help"],
        "swesrl --version": [py, "-m", "swesrl", "--version"],
        "swesrl traj --help": [py, "-m", "swesrl", "traj", "--help"],
    }
    wall: dict[str, list[float]] = {k: [] for k in commands}
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.n):
        for name, cmd in commands.items():
            w, c = run(cmd, env)
            wall[name].append(w)
            cpu[name].append(c)
    base_wall, base_cpu = statistics.median(wall["python -c pass"]), statistics.median(cpu["python -c pass"])
    print(f"{'command':26s} {'wall ms':>8s} {'ratio':>6s} {'cpu ms':>8s} {'ratio':>6s}   (medians of {args.n})")
    for name in commands:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:26s} {w * 1000:8.1f} {w / base_wall:5.2f}x {c * 1000:8.1f} {c / base_cpu:5.2f}x")


if __name__ == "__main__":
    main()
