"""`swesrl train ...`: SRL, the SFT baseline and RLVR from recipes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from swesrl.errors import require

from . import SUMMARY
from .output import out

app = typer.Typer(help=SUMMARY["train"], no_args_is_help=True)

RECIPE = typer.Option(None, "--recipe", "-r", help="Recipe name (see `swesrl train recipes`) or YAML path; "
                      "not needed with --resume auto on a run (its config.yaml is the recipe).")
DATA = typer.Option(None, "--data", help="Training data: step examples (JSONL/Parquet); SFT also takes trajectory JSONL.")
VAL = typer.Option(None, "--val-data", help="Held-out step examples, validated at every checkpoint.")
MODEL = typer.Option(None, "--model", help="Model name or local path (overrides the recipe).")
OUT = typer.Option(..., "--output-dir", "-o", help="Run directory: checkpoints, metrics.jsonl, config.yaml.")
SET = typer.Option([], "--set", help="Override a config field, typed by the config: key=value (repeatable).")
RESUME = typer.Option(None, "--resume", help="'auto' (newest complete checkpoint in the run directory) or a checkpoint path.")
ALLOW = typer.Option([], "--allow-change", help="On resume: a field whose new value (from --set or a flag) applies from "
                     "the resumed step on, recorded in config_changes.jsonl (repeatable). Others are refused.")
OVERWRITE = typer.Option(False, "--overwrite", help="Start over in a run directory that already holds a run (deletes its checkpoints).")


def _run(method: str, recipe: str | None, data: Path | None, val_data: Path | None, model: str | None, output_dir: Path,
         overrides: list[str], resume: str | None, allow: Sequence[str] = (), overwrite: bool = False, **fields: str | None) -> None:
    require("torch", "training")
    require("trl", "training", extra="train")
    if method == "rlvr":
        require("swebench", "the RLVR reward (tests graded in Docker)", extra="eval")
    from swesrl.training.recipes import RecipeError, build_config
    from swesrl.training.resume import resume_setup
    from swesrl.training.run import train

    fields = dict(fields, model=model, output_dir=str(output_dir), data=str(data) if data else None,
                  val_data=str(val_data) if val_data else None)
    try:
        if resume:
            setup = resume_setup(output_dir, method, recipe, overrides, allow, **fields)
            if setup.finished_step is not None:
                typer.echo(f"{output_dir} finished at step {setup.finished_step}: nothing to do "
                           "(to train further: --set max_steps=N --allow-change max_steps)")
                return
            config, changes = setup.config, setup.changes
        elif recipe is None:
            raise typer.BadParameter("give a recipe (or --resume auto to continue a run)", param_hint="--recipe")
        else:
            config, changes = build_config(recipe, overrides, method=method, **fields), {}
        for key, (old, new) in changes.items():
            typer.echo(f"changed on resume: {key} {old!r} -> {new!r}")
        if method == "rlvr":
            from swesrl.training.rlvr import RLVRDataError

            try:
                result = train(config, resume=resume, overwrite=overwrite, changes=changes)
            except RLVRDataError as e:
                raise typer.BadParameter(str(e), param_hint="--tasks") from None
        else:
            result = train(config, resume=resume, overwrite=overwrite, changes=changes)
    except RecipeError as e:
        raise typer.BadParameter(str(e)) from None
    finally:
        _leave_process_group()
    typer.echo(f"done: {result.global_step} steps in {result.output_dir}" + (f", best checkpoint {result.best_checkpoint}" if result.best_checkpoint else ""))


def _leave_process_group() -> None:
    """Under torchrun/accelerate launch, end the process group before the process exits: left to
    interpreter exit, gloo's threads can abort the process (SIGABRT after a finished run, seen once in a
    two-process test), and torch warns that the group leaks."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@app.command()
def srl(recipe: str = RECIPE, data: Path = DATA, val_data: Path = VAL, model: str = MODEL, output_dir: Path = OUT,
        set_: list[str] = SET, resume: str = RESUME, allow_change: list[str] = ALLOW, overwrite: bool = OVERWRITE) -> None:
    """SRL: GRPO on step examples, reward = similarity of the model's action to the expert's, dynamic sampling.

    Example: swesrl train srl --recipe tiny-cpu --data steps.jsonl --model runs/sft --output-dir runs/srl --set max_steps=20
    """
    _run("srl", recipe, data, val_data, model, output_dir, set_, resume, allow_change, overwrite)


@app.command()
def sft(recipe: str = RECIPE, data: Path = DATA, val_data: Path = VAL, model: str = MODEL, output_dir: Path = OUT,
        set_: list[str] = SET, resume: str = RESUME, allow_change: list[str] = ALLOW, overwrite: bool = OVERWRITE) -> None:
    """SFT baseline: next-token loss on the expert's answers (step examples) or whole trajectories.

    Example: swesrl train sft --recipe tiny-cpu-sft --data steps.jsonl --model runs/tiny --output-dir runs/sft
    """
    _run("sft", recipe, data, val_data, model, output_dir, set_, resume, allow_change, overwrite)


@app.command()
def rlvr(recipe: str = RECIPE,
         tasks: Path = typer.Option(None, "--tasks", help="SWE tasks (JSONL/JSON/parquet) with gold patches and tests: the RLVR problems."),
         model: str = MODEL, output_dir: Path = OUT, set_: list[str] = SET, resume: str = RESUME,
         allow_change: list[str] = ALLOW, overwrite: bool = OVERWRITE) -> None:
    """RLVR after SRL: GRPO from the SRL run, one oracle SEARCH/REPLACE answer per rollout, reward 1 when
    the task's tests pass with its patch in Docker, else 0; groups with 0 < resolved < G are kept.

    Example: swesrl train rlvr --recipe qwen2.5-coder-7b-rlvr-lora-1gpu --tasks tasks.jsonl --model runs/srl --output-dir runs/rlvr
    """
    _run("rlvr", recipe, None, None, model, output_dir, set_, resume, allow_change, overwrite, tasks=str(tasks) if tasks else None)


@app.command("config")
def config_(recipe: str = typer.Option(..., "--recipe", "-r", help="Recipe name or YAML path."), data: Path = DATA,
            model: str = MODEL, set_: list[str] = SET,
            gpus: int = typer.Option(None, "--gpus", help="GPUs the run uses (default: what the recipe is sized for, else 1)."),
            sharded: bool = typer.Option(None, "--sharded/--not-sharded", help="ZeRO-3/FSDP shards weights and optimizer "
                                         "(default: the recipe's accelerate setting)."),
            examples: int = typer.Option(None, "--examples", help="Plan for this many training examples (RLVR: "
                                         "tasks) instead of counting --data, e.g. 134000 for the paper's SWE set.")) -> None:
    """Dry run: print the resolved config and what it implies (prompts per step, steps, checkpoints, memory
    per GPU, time from the recipe's stated throughput) without loading a model.

    Example: swesrl train config --recipe qwen2.5-coder-7b-srl-lora-1gpu --data steps.parquet
    """
    from swesrl.training.budget import Assumptions
    from swesrl.training.plan import plan
    from swesrl.training.recipes import RecipeError, build_config, config_yaml, load_recipe

    try:
        raw = load_recipe(recipe)
        config = build_config(raw, set_, model=model, data=str(data) if data else None, output_dir="(dry run)")
        assume = Assumptions.from_recipe(raw.get("assume"))
    except ValueError as e:  # RecipeError names the recipe; a bad `assume:` is named here
        raise typer.BadParameter(str(e) if isinstance(e, RecipeError) else f"recipe {recipe}: {e}") from None
    typer.echo(config_yaml(config).rstrip())
    typer.echo("---")
    gpus = gpus or int(raw.get("gpus", 1))
    for line in plan(config, gpus, bool(raw.get("accelerate")) if sharded is None else sharded, assume, examples).lines():
        typer.echo(line)


@app.command()
def evaluate(
    data: Path = typer.Option(..., "--data", help="Held-out step examples (JSONL/Parquet from `swesrl traj split`)."),
    model: list[str] = typer.Option([], "--model", help="NAME=PATH or PATH of a model to evaluate (repeatable)."),
    train_data: Path = typer.Option(None, "--train-data", help="The training steps: the best constant answer is chosen on them."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the results as JSON here."),
    samples: int = typer.Option(4, help="Sampled answers per example at temperature 1 (0: greedy only)."),
    max_new_tokens: int = typer.Option(128, help="Generation length of each answer."),
    cpu_threads: int = typer.Option(None, help="torch threads on CPU (1 is fastest for tiny models)."),
) -> None:
    """Held-out steps: each model's greedy and sampled answers (mean SRL reward, exact match, format errors,
    length, distinct answers, action kinds) next to trivial answers on the same rows.

    Example: swesrl train evaluate --data heldout.jsonl --train-data steps.jsonl --model sft=runs/sft --model srl=runs/srl -o eval.json
    """
    import json

    from swesrl.training.data import DataError
    from swesrl.training.evaluation import evaluate as run_evaluation
    from swesrl.training.evaluation import heldout_table

    models = dict(m.split("=", 1) if "=" in m else [Path(m).name, m] for m in model)
    try:
        result = run_evaluation(models, data, train_data, max_new_tokens=max_new_tokens, samples=samples, cpu_threads=cpu_threads)
    except DataError as e:
        raise typer.BadParameter(str(e)) from None
    typer.echo(f"{result['rows']} held-out steps from {data}; expert action kinds: "
               + ", ".join(f"{k} {v:.0%}" for k, v in result["expert_action_kinds"].items()))
    out().print(heldout_table(result))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=1), encoding="utf-8")
        typer.echo(f"wrote {output}")


@app.command()
def recipes() -> None:
    """List the bundled recipes.

    Example: swesrl train recipes
    """
    from swesrl.training.recipes import load_recipe, recipe_names

    for name in recipe_names():
        r = load_recipe(name)
        typer.echo(f"{name} [{r.get('method')}]: {' '.join(str(r.get('description', '')).split())}")


@app.command()
def plot(run_dir: Path = typer.Argument(..., help="A run directory with metrics.jsonl."),
         key: str = typer.Option("reward_mean", help="Metric to plot.")) -> None:
    """Plot a metric of a run (PNG beside metrics.jsonl) and print its values.

    Example: swesrl train plot runs/srl --key reward_mean
    """
    from swesrl.training.metrics import plot_metrics, read_metrics

    try:
        png = plot_metrics(run_dir, key=key)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    for m in read_metrics(run_dir):
        if key in m:
            typer.echo(f"step {m['step']:>5}  {key} {m[key]:.4f}")
    typer.echo(f"wrote {png}")
