"""SRL training steps against plain TRL GRPO, same model, data and settings, measured in one run.

A random-initialized model of Qwen2.5-0.5B's shape (its 151,936-token vocabulary included; no weights
are downloaded) trains on the bundled expert runs' step examples. Both trainers use one reward that
varies with the sampled tokens, so dynamic sampling keeps (almost) every group and the two do the same
work; what differs is SRLTrainer's batching (whole-group micro-batches, all-pad columns cut) and its
bookkeeping. Reported per trainer, after a warm-up step: step time, tokens/s (prompt + completion
tokens of the generation batches), peak GPU memory; then the ratios SRL / TRL. Generation is
transformers' unless vLLM is installed, then colocated vLLM is measured as well.

Writes ``train_gpu.json`` and ``train_gpu.md`` (a table to paste into BENCHMARKS.md) into ``--out``; the
model, data and trainer folders go to ``--work`` (default: ``--out``).

Usage: python bench/train_gpu.py [--steps 5] [--out runs/gpu-check] [--work DIR]
       python bench/train_gpu.py --dry-run      # the same code on CPU with the tiny model, in seconds
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback

from swesrl.training.data import drop_long_prompts, grpo_dataset, load_steps
from swesrl.training.srl_trainer import SRLTrainer
from swesrl.trajectories.readers import read_trajectories
from swesrl.trajectories.split import split_all, write_examples

EXPERT_RUNS = Path(__file__).resolve().parents[1] / "examples" / "trajectories" / "expert_runs.jsonl"
QWEN25_VOCAB = 151936


def varying_reward(prompts, completions, completion_ids, **kwargs):
    """Rewards that vary within a group (a random model never writes a parseable answer)."""
    return [float(sum(ids) % 7) for ids in completion_ids]


class Clock(TrainerCallback):
    """Wall time and TRL's cumulative token count at the end of every optimizer step."""

    def __init__(self):
        self.marks: list[tuple[float, float]] = []
        self.tokens = 0.0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "num_tokens" in logs:
            self.tokens = logs["num_tokens"]

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.marks.append((time.perf_counter(), self.tokens))


def make_model(folder: Path, dry_run: bool) -> Path:
    """The tiny test model (dry run) or a random Qwen2.5-0.5B-shaped one with Qwen2.5's vocabulary size."""
    from transformers import AutoModelForCausalLM

    from swesrl.training.tiny_model import init_tiny_model

    if (folder / "config.json").is_file():
        return folder
    path = init_tiny_model(folder, corpus=[EXPERT_RUNS], preset="tiny" if dry_run else "qwen2.5-0.5b")
    if not dry_run:  # the real vocabulary's size: the LM head and embedding cost what they cost in Qwen2.5-0.5B
        model = AutoModelForCausalLM.from_pretrained(path)
        model.resize_token_embeddings(QWEN25_VOCAB)
        model.save_pretrained(path)
    return path


def settings(dry_run: bool, out: Path, use_vllm: bool) -> dict:
    common = dict(
        output_dir=str(out), seed=0, num_generations=4 if dry_run else 8, temperature=1.0, learning_rate=1e-6,
        beta=0.0, loss_type="grpo", logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True,
        log_completions=False, dataloader_num_workers=0,
    )
    if dry_run:
        return {**common, "use_cpu": True, "bf16": False, "gradient_checkpointing": False,
                "per_device_train_batch_size": 4, "gradient_accumulation_steps": 2, "max_completion_length": 8}
    gpu = {**common, "bf16": True, "gradient_checkpointing": True, "per_device_train_batch_size": 8,
           "gradient_accumulation_steps": 4, "max_completion_length": 256}
    if use_vllm:
        gpu.update(use_vllm=True, vllm_mode="colocate", vllm_gpu_memory_utilization=0.3)
    return gpu


def step_examples(out: Path, n: int, model_path: Path, max_prompt_tokens: int | None):
    """The first ``n`` step examples of the bundled expert runs (prompts up to ``max_prompt_tokens``), as GRPO rows."""
    from transformers import AutoTokenizer

    path = out / "steps.jsonl"
    write_examples(split_all(read_trajectories(EXPERT_RUNS)), path)
    ds = drop_long_prompts(grpo_dataset(load_steps(path)), AutoTokenizer.from_pretrained(model_path), max_prompt_tokens)
    return ds.select(range(min(n, len(ds))))


def run_one(kind: str, model_path: Path, data, args: dict, steps: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from swesrl.training.config import SRLConfig

    tok = AutoTokenizer.from_pretrained(model_path)
    tok.padding_side = "left"
    dtype = torch.bfloat16 if args.get("bf16") else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    config = {**args, "max_steps": steps, "output_dir": str(Path(args["output_dir"]) / kind)}
    clock = Clock()
    if kind.startswith("srl"):
        trainer = SRLTrainer(model=model, reward_funcs=[varying_reward], args=SRLConfig(**config, max_refill_rounds=2),
                             train_dataset=data, processing_class=tok, callbacks=[clock])
    else:
        trainer = GRPOTrainer(model=model, reward_funcs=[varying_reward], args=GRPOConfig(**config),
                              train_dataset=data, processing_class=tok, callbacks=[clock])
    trainer.remove_callback(PrinterCallback)  # the per-step log dicts: the summary below is the output
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    (t1, n1), (tn, nn) = clock.marks[0], clock.marks[-1]  # after the warm-up step, to the end
    timed = len(clock.marks) - 1
    result = {
        "trainer": kind,
        "steps": trainer.state.global_step,
        "first_step_s": t1 - start,
        "step_s": (tn - t1) / timed if timed else float("nan"),
        "tokens_per_s": (nn - n1) / (tn - t1) if timed and tn > t1 else float("nan"),
        "peak_memory_gb": torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None,
    }
    for key in ("tokens/real_share", "tokens/real_share_padded"):  # SRLTrainer's: after and before its cuts
        shares = [m[key] for m in trainer.state.log_history if key in m]
        if shares:
            result[key.replace("tokens/", "")] = sum(shares) / len(shares)
    del trainer, model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def ratios(srl: dict, trl: dict) -> dict:
    out = {"step_time_srl_over_trl": srl["step_s"] / trl["step_s"], "tokens_per_s_srl_over_trl": srl["tokens_per_s"] / trl["tokens_per_s"]}
    if srl["peak_memory_gb"] and trl["peak_memory_gb"]:
        out["peak_memory_srl_over_trl"] = srl["peak_memory_gb"] / trl["peak_memory_gb"]
    return out


def markdown(report: dict) -> str:
    """The report as a BENCHMARKS.md section: one row per trainer and backend, then the ratios."""
    head = (f"`python bench/train_gpu.py` on {report['device']} (torch {report['torch']}, transformers "
            f"{report['transformers']}, trl {report['trl']}): {report['steps']} optimizer steps per trainer (the first "
            f"is warm-up), {report['examples']} step examples, "
            + ("the tiny model (dry run on CPU: nothing measured)" if report["device"] == "cpu"
               else "a random Qwen2.5-0.5B-shaped model") + ".")
    rows = ["| generation | trainer | step (s) | tokens/s | peak memory (GB) | real-token share |", "|---|---|---|---|---|---|"]
    for run in report["runs"]:
        for kind in ("srl", "trl"):
            r = run[kind]
            mem = f"{r['peak_memory_gb']:.1f}" if r["peak_memory_gb"] else "-"
            share = f"{r['real_share']:.2f} (TRL's width: {r['real_share_padded']:.2f})" if "real_share" in r else "-"
            rows.append(f"| {run['generation']} | {kind.upper()} | {r['step_s']:.2f} | {r['tokens_per_s']:.0f} | {mem} | {share} |")
    ratios = [f"{run['generation']}: " + ", ".join(f"{k} {v:.2f}" for k, v in run["ratios"].items()) for run in report["runs"]]
    return "\n".join([head, "", *rows, "", "SRL / TRL, same run: " + "; ".join(ratios), ""])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="Optimizer steps per trainer (the first is warm-up).")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu-check"), help="Where the report goes.")
    parser.add_argument("--work", type=Path, default=None, help="Model, data and trainer folders (default: --out).")
    parser.add_argument("--examples", type=int, default=64, help="Step examples to train on.")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny model, 2 steps: checks the script, measures nothing.")
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device: run with --dry-run on CPU")
    steps = 2 if args.dry_run else args.steps
    if args.dry_run:
        torch.set_num_threads(1)  # a tiny model: syncing threads costs more than its matrix products
    work = args.work or args.out
    for folder in (args.out, work):
        folder.mkdir(parents=True, exist_ok=True)
    model_path = make_model(work / ("tiny" if args.dry_run else "qwen2.5-0.5b-random"), args.dry_run)
    data = step_examples(work, 8 if args.dry_run else args.examples, model_path, 768 if args.dry_run else 4096)
    backends = ["transformers"] + (["vllm"] if not args.dry_run and importlib.util.find_spec("vllm") else [])
    import transformers
    import trl

    report = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
              "steps": steps, "examples": len(data), "runs": []}
    for backend in backends:
        conf = settings(args.dry_run, work, backend == "vllm")
        pair = {kind: run_one(f"{kind}-{backend}", model_path, data, conf, steps) for kind in ("srl", "trl")}
        report["runs"].append({"generation": backend, **pair, "ratios": ratios(pair["srl"], pair["trl"])})
        for kind in ("srl", "trl"):
            r = pair[kind]
            mem = f"{r['peak_memory_gb']:.1f} GB" if r["peak_memory_gb"] else "-"
            print(f"{backend:<12} {kind}: step {r['step_s']:.2f} s, {r['tokens_per_s']:.0f} tokens/s, peak {mem}")
        print(f"{backend:<12} SRL/TRL: " + ", ".join(f"{k} {v:.2f}" for k, v in report["runs"][-1]["ratios"].items()))
    (args.out / "train_gpu.json").write_text(json.dumps(report, indent=1))
    (args.out / "train_gpu.md").write_text(markdown(report))
    print(f"wrote {args.out / 'train_gpu.json'} and train_gpu.md")
    return report


if __name__ == "__main__":
    main()
