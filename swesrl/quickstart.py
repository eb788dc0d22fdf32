"""The default run: every pipeline stage on the bundled data, each as the documented command a user can run alone.

bundled expert runs -> step examples (whole tasks held out) -> tiny model -> SFT warm start -> SRL, and SFT
given SRL's compute -> every model and the trivial answers on the held-out steps -> the trained agent and
the expert replay on the bundled tasks in Docker -> the report. Each stage is a `swesrl ...` command run in
its own process, printed before it runs, so the quickstart is also the tutorial. Stages whose output is
already there are kept, an interrupted training stage continues from its last checkpoint (--resume auto)
and evaluations resume by themselves: running it again is cheap.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SFT_MORE_STEPS = 200  # SFT steps that take about as long as the SRL stage (BENCHMARKS.md "Training")
CONTEXT_STEPS = "1"  # previous action/observation pairs in a prompt (the paper: 2); the agent is given the same


@dataclass(frozen=True)
class Stage:
    title: str
    args: list[str]
    done: Callable[[], bool] = lambda: False  # output already there: skip

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
        Stage("expert runs of the training tasks -> step examples",
              ["traj", "split", str(examples / "training" / "train_runs.jsonl"), "-o", str(steps), "--context-steps", CONTEXT_STEPS]),
        Stage("expert runs of the held-out tasks (never trained on) -> step examples",
              ["traj", "split", str(examples / "training" / "heldout_runs.jsonl"), "-o", str(heldout), "--context-steps", CONTEXT_STEPS]),
        Stage("a tiny random-initialized Qwen2 model and a tokenizer trained on the examples",
              ["model", "init-tiny", str(tiny), "--corpus", str(steps)], lambda: (tiny / "config.json").is_file()),
        Stage("SFT warm start (teaches the answer format)",
              ["train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(steps), "--model", str(tiny), "-o", str(sft),
               "--resume", "auto"],
              trained(sft)),
        Stage("SRL from the SFT model: GRPO with the step reward and dynamic sampling",
              ["train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--model", str(sft), "-o", str(srl),
               "--resume", "auto"],
              trained(srl)),
        Stage("the SFT baseline given SRL's compute: SFT continued from the same model for as long as SRL ran",
              ["train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(steps), "--model", str(sft), "-o", str(sft_more),
               "--set", f"max_steps={SFT_MORE_STEPS}", "--resume", "auto"],
              trained(sft_more)),
        Stage("every model (sft-more: SFT given SRL's compute) and the trivial answers on the held-out steps",
              ["train", "evaluate", "--data", str(heldout), "--train-data", str(steps), "--cpu-threads", "1", "--max-new-tokens", "144",
               "--samples", "0", "--model", f"init={tiny}", "--model", f"sft={sft}", "--model", f"sft-more={sft_more}",
               "--model", f"srl={srl}", "-o", str(out / "heldout_eval.json")],
              lambda: (out / "heldout_eval.json").is_file()),
        Stage("the expert replay on the bundled tasks, evaluated in Docker",
              ["eval", "run", "--tasks", tasks, "--model", "replay", "--run-id", "replay",
               "--runs-dir", str(evals), "--workers", str(workers)]),
        Stage("the SRL-trained tiny model as an agent on the bundled tasks, evaluated in Docker",
              ["eval", "run", "--tasks", tasks, "--model", f"hf:{srl}", "--run-id", "srl-tiny",
               "--runs-dir", str(evals), "--workers", str(workers), "--step-limit", "8", "--max-new-tokens", "144",
               "--set", f"agent.context.context_steps={CONTEXT_STEPS}"]),
        Stage("the report", ["report", str(out)]),
    ]


def run_quickstart(out: Path, workers: int = 2, console: Console | None = None) -> Path:
    """Run every stage; stop at the first that fails, saying which command to rerun. Returns the report path."""
    console = console or Console()
    plan = stages(out, examples_dir(), workers)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for i, stage in enumerate(plan, 1):
        console.rule(f"[bold]{i}/{len(plan)} {stage.title}")
        console.print(f"[dim]$ {stage.command}[/]")
        if stage.done():
            console.print("[green]already done[/] (delete its folder to redo)")
            continue
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "swesrl", *stage.args])
        if proc.returncode != 0:
            console.print(f"[red]stage {i} failed[/] (exit {proc.returncode}); fix it and rerun: {stage.command}")
            raise SystemExit(proc.returncode)
        console.print(f"[green]done[/] in {time.monotonic() - t0:.0f} s")
    report = out / "report" / "report.html"
    console.rule(f"[bold green]quickstart finished in {time.monotonic() - started:.0f} s")
    console.print(f"report: {report}")
    return report
