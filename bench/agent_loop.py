"""Agent loop overhead per step, model and command time excluded (goal: < 5 ms).

A scripted policy (answers prepared beforehand) drives the real loop over a real LocalSandbox whose
calls (exec, read_file, write_file, diff) are timed separately and subtracted. What is left is the
loop's own work: prompt building, answer parsing, observation truncation, and saving the whole
trajectory after every step. The baseline, measured in the same run, is one trivial command
(`true`) in the same sandbox: the cheapest thing a step could ever cost.

    python bench/agent_loop.py [--steps 10 50 100] [--obs-chars 2000 8000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from swesrl.agent.loop import AgentConfig, run_agent
from swesrl.agent.policies import Reply, ScriptedPolicy
from swesrl.sandbox.local import LocalSandbox
from swesrl.trajectories import Bash, StrReplace, Submit, View, render_answer, render_xml


class TimedSandbox:
    """Delegates to a sandbox and adds up the seconds spent inside it."""

    def __init__(self, inner: LocalSandbox):
        self.inner, self.seconds = inner, 0.0

    def _timed(self, fn, *args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t

    def exec(self, cmd, timeout, workdir=None, env=None):
        return self._timed(self.inner.exec, cmd, timeout, workdir, env)

    def read_file(self, path):
        return self._timed(self.inner.read_file, path)

    def write_file(self, path, content):
        return self._timed(self.inner.write_file, path, content)

    def diff(self):
        return self._timed(self.inner.diff)

    def close(self):
        self.inner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TimedPolicy(ScriptedPolicy):
    seconds: float = 0.0

    def act(self, messages) -> Reply:
        t = time.perf_counter()
        try:
            return super().act(messages)
        finally:
            self.seconds += time.perf_counter() - t


def script(root: Path, steps: int) -> list[str]:
    """A realistic mix: view a file, run a command with long output, edit back and forth; then submit."""
    f = f"{root}/mod.py"
    cycle = [
        render_answer("Let me read the module." * 5, render_xml(View(f))),
        # the clock makes each round's output new: the same four steps with the same outputs are a loop the agent stops
        render_answer("Run the check." * 5, render_xml(Bash("cat big.txt; date +%s%N"))),
        render_answer("Fix it." * 5, render_xml(StrReplace(f, "return 1", "return 2"))),
        render_answer("Undo that." * 5, render_xml(StrReplace(f, "return 2", "return 1"))),
    ]
    return [cycle[i % len(cycle)] for i in range(steps - 1)] + [render_answer("done", render_xml(Submit()))]


def measure(steps: int, obs_chars: int, out_dir: Path, rep: int) -> dict[str, float]:
    src = out_dir / f"src-{steps}-{obs_chars}-{rep}"
    src.mkdir()
    (src / "mod.py").write_text("".join(f"def f{i}():\n    return {i}\n\n" for i in range(obs_chars // 30)) + "def g():\n    return 1\n")
    (src / "big.txt").write_text(("x" * 99 + "\n") * (obs_chars // 100))
    with TimedSandbox(LocalSandbox(src)) as sb:
        policy = TimedPolicy(script(sb.inner.root, steps))
        config = AgentConfig(step_limit=steps + 1, workdir=sb.inner.workdir)
        t = time.perf_counter()
        result = run_agent(policy, sb, "The module is wrong. " * 40, config=config, out=out_dir / f"run-{steps}-{obs_chars}-{rep}.jsonl")
        total = time.perf_counter() - t
        assert result.exit_status == "submitted", result.trajectory.metadata
        baseline = statistics.median(_timed_true(sb.inner) for _ in range(20))
    overhead = (total - sb.seconds - policy.seconds) / steps
    return {"total": total, "sandbox": sb.seconds, "overhead": overhead, "baseline": baseline}


def _timed_true(sb: LocalSandbox) -> float:
    t = time.perf_counter()
    sb.exec("true", timeout=10)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[10, 50, 100])
    ap.add_argument("--obs-chars", type=int, nargs="+", default=[2000, 8000])
    ap.add_argument("--repeats", type=int, default=3, help="runs per cell; the median is shown")
    args = ap.parse_args()
    print(f"{'steps':>6} {'obs chars':>9} {'overhead/step':>14} {'sandbox/step':>13} {'baseline exec':>14} {'overhead/baseline':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for steps in args.steps:
            for obs in args.obs_chars:
                runs = [measure(steps, obs, Path(tmp), r) for r in range(args.repeats)]
                m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(f"{steps:>6} {obs:>9} {m['overhead'] * 1e3:>11.2f} ms {m['sandbox'] / steps * 1e3:>10.2f} ms "
                      f"{m['baseline'] * 1e3:>11.2f} ms {m['overhead'] / m['baseline']:>17.2f}x")


if __name__ == "__main__":
    main()
