"""The default run: every pipeline stage on the bundled data, each as the documented command a user can run alone.

bundled expert runs -> step examples (whole tasks held out) -> tiny model -> SFT warm start -> SRL, and SFT
given SRL's compute -> every model and the trivial answers on the held-out steps -> the trained agent and
the expert replay on the bundled tasks in Docker -> the report. Each stage is a `swesrl ...` command run in
its own process, printed before it runs, so the quickstart is also the tutorial; stages that do not need each
other's output run side by side (two at a time: SRL and SFT-more use one CPU thread each, the SFT warm start
two, beside the expert replay in Docker). Stages whose output is
already there are kept, an interrupted training stage continues from its last checkpoint (--resume auto)
and evaluations resume by themselves: running it again is cheap.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SFT_MORE_STEPS = 200  # SFT steps that take about as long as the SRL stage, both on one thread (BENCHMARKS.md "Training")
# 5 bundled tasks x 5 runs, and 30 training-only mutation tasks x 3 runs (examples/make_mutation_runs.py): SRL
# trained on the 5 alone learns no more than SFT given its compute (BENCHMARKS.md "Training")
TRAINING_RUNS = ("train_runs.jsonl", "mutation_runs.jsonl")
CONTEXT_STEPS = "1"  # previous action/observation pairs in a prompt (the paper: 2); the agent is given the same
# greedy, an agent that sees one previous step repeats a command whose output does not change its next answer
# (5 of 7 bundled runs, BENCHMARKS.md "Training"; they now end as `stuck`, "Agent"); sampled, it is still the
# policy SRL trained (at T=1)
AGENT_TEMPERATURE = "0.7"


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    args: list[str]
    done: Callable[[], bool] = lambda: False  # output already there: skip
    needs: tuple[str, ...] = ()  # stages whose output this one reads: it starts when they have finished

    @property
    def command(self) -> str:
        return "swesrl " + shlex.join(self.args)


def examples_dir() -> Path:
    """The bundled tasks and expert runs: beside the package in a source checkout."""
    if not (EXAMPLES / "tasks" / "tasks.jsonl").is_file():
        raise FileNotFoundError(f"bundled examples not found at {EXAMPLES}; run the quickstart from a swesrl checkout")
    return EXAMPLES


def stages(out: Path, examples: Path, workers: int) -> list[Stage]:
    tasks = str(examples / "tasks" / "tasks.jsonl")
    steps, heldout, tiny, sft, srl = out / "steps.jsonl", out / "heldout.jsonl", out / "tiny", out / "sft", out / "srl"
    sft_more, evals = out / "sft-more", out / "eval"
    trained = lambda d: lambda: (d / "config.json").is_file() and (d / "metrics.jsonl").is_file()  # noqa: E731
    return [
        Stage("split", "expert runs of the training tasks (bundled bugs and mutation tasks) -> step examples",
              ["traj", "split", *(str(examples / "training" / f) for f in TRAINING_RUNS), "-o", str(steps),
               "--context-steps", CONTEXT_STEPS]),
        Stage("split-heldout", "expert runs of the held-out tasks (never trained on) -> step examples",
              ["traj", "split", str(examples / "training" / "heldout_runs.jsonl"), "-o", str(heldout), "--context-steps", CONTEXT_STEPS]),
        Stage("tiny", "a tiny random-initialized Qwen2 model and a tokenizer trained on the examples",
              ["model", "init-tiny", str(tiny), "--corpus", str(steps)], lambda: (tiny / "config.json").is_file(), ("split",)),
        Stage("sft", "SFT warm start (teaches the answer format)",
              ["train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(steps), "--model", str(tiny), "-o", str(sft),
               "--resume", "auto"],
              trained(sft), ("tiny",)),
        Stage("replay", "the expert replay on the bundled tasks, evaluated in Docker",
              ["eval", "run", "--tasks", tasks, "--model", "replay", "--run-id", "replay",
               "--runs-dir", str(evals), "--workers", str(workers)]),
        Stage("srl", "SRL from the SFT model: GRPO with the step reward and dynamic sampling",
              ["train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--model", str(sft), "-o", str(srl),
               "--resume", "auto"],
              trained(srl), ("sft",)),
        Stage("sft-more", "the SFT baseline given SRL's compute: SFT continued from the same model for as long as SRL ran",
              ["train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(steps), "--model", str(sft), "-o", str(sft_more),
               "--set", f"max_steps={SFT_MORE_STEPS}", "--set", "cpu_threads=1", "--resume", "auto"],
              trained(sft_more), ("sft",)),
        Stage("evaluate", "every model (sft-more: SFT given SRL's compute) and the trivial answers on the held-out steps",
              ["train", "evaluate", "--data", str(heldout), "--train-data", str(steps), "--cpu-threads", "2", "--max-new-tokens", "144",
               "--samples", "4", "--model", f"init={tiny}", "--model", f"sft={sft}", "--model", f"sft-more={sft_more}",
               "--model", f"srl={srl}", "-o", str(out / "heldout_eval.json")],
              lambda: (out / "heldout_eval.json").is_file(), ("split-heldout", "srl", "sft-more")),
        Stage("agent", "the SRL-trained tiny model as an agent on the bundled tasks (sampled), evaluated in Docker",
              ["eval", "run", "--tasks", tasks, "--model", f"hf:{srl}", "--run-id", "srl-tiny",
               "--runs-dir", str(evals), "--workers", str(workers), "--step-limit", "8", "--max-new-tokens", "144",
               "--temperature", AGENT_TEMPERATURE, "--set", "model.seed=0",
               "--set", f"agent.context.context_steps={CONTEXT_STEPS}"],
              needs=("srl",)),
        Stage("report", "the report", ["report", str(out)], needs=("evaluate", "replay", "agent")),
    ]


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return escape(lines[-1].strip()) if lines else ""


def run_quickstart(out: Path, workers: int = 2, console: Console | None = None, parallel: int = 2) -> Path:
    """Run every stage (``run_stages``), then show the held-out table. Returns the report path."""
    console = console or Console()
    started = time.monotonic()
    run_stages(stages(out, examples_dir(), workers), out, console, parallel)
    if (out / "heldout_eval.json").is_file():
        from swesrl.training.evaluation import heldout_table

        console.print(heldout_table(json.loads((out / "heldout_eval.json").read_text())))
    report = out / "report" / "report.html"
    console.rule(f"[bold green]quickstart finished in {time.monotonic() - started:.0f} s")
    console.print(f"report: {report}")
    return report


def run_stages(plan: list[Stage], out: Path, console: Console, parallel: int = 2) -> dict[str, float]:
    """Run ``plan`` up to ``parallel`` stages at once (each trains on one CPU thread; the Docker stages mostly
    wait), a stage as soon as the stages it needs are done; stop at the first that fails, saying which
    command to rerun. Each stage's output goes to ``out/logs/<stage>.log``. Returns each run stage's seconds."""
    names = {stage.name for stage in plan}
    for stage in plan:
        if missing := set(stage.needs) - names:
            raise ValueError(f"stage {stage.name} needs {', '.join(sorted(missing))}, which the plan does not have")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    finished: set[str] = set()
    running: dict[str, tuple[Stage, subprocess.Popen, float]] = {}
    waiting = list(plan)
    number = {stage.name: i for i, stage in enumerate(plan, 1)}
    try:
        while waiting or running:
            for stage in [s for s in waiting if set(s.needs) <= finished][: max(0, parallel - len(running))]:
                waiting.remove(stage)
                label = f"{number[stage.name]}/{len(plan)} {stage.title}"
                if stage.done():
                    console.print(f"[green]already done[/] {label} (delete its output to redo)")
                    finished.add(stage.name)
                    continue
                log = out / "logs" / f"{stage.name}.log"
                console.rule(f"[bold]{label}")
                console.print(f"[dim]$ {stage.command}[/]  (output: {log})")
                with log.open("w") as f:
                    proc = subprocess.Popen([sys.executable, "-m", "swesrl", *stage.args], stdout=f, stderr=subprocess.STDOUT)
                running[stage.name] = (stage, proc, time.monotonic())
            time.sleep(0.2)
            for name, (stage, proc, t0) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[name]
                if proc.returncode != 0:
                    tail = (out / "logs" / f"{name}.log").read_text(errors="replace").splitlines()[-30:]
                    console.print("\n".join(tail), markup=False, highlight=False)
                    console.print(f"[red]stage {number[name]} ({name}) failed[/] (exit {proc.returncode}); "
                                  f"fix it and rerun: {stage.command}")
                    raise SystemExit(proc.returncode)
                finished.add(name)
                seconds[name] = time.monotonic() - t0
                console.print(f"[green]done[/] {number[name]}/{len(plan)} {name} in {seconds[name]:.0f} s: "
                              f"{_last_line(out / 'logs' / f'{name}.log')}", markup=True, highlight=False)
    finally:
        for _, proc, _ in running.values():
            proc.terminate()
            proc.wait()
    return seconds
