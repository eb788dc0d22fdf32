"""`swesrl model ...`: small random-init models for tests and smoke runs; export a run as a loadable model."""

from __future__ import annotations

from pathlib import Path

import typer

from . import SUMMARY

app = typer.Typer(help=SUMMARY["model"], no_args_is_help=True)


@app.command("init-tiny")
def init_tiny(
    out: Path = typer.Argument(..., help="Directory to write the model and tokenizer to."),
    vocab: str = typer.Option("local", help="'local': a small BPE trained here; 'qwen': Qwen2.5's vocabulary (needs qwen-agent)."),
    corpus: list[Path] = typer.Option([], "--corpus", help="Extra text files for the local BPE (repeatable)."),
    preset: str = typer.Option("tiny", help="Architecture sizes: 'tiny' (2 layers, hidden 64) or 'qwen2.5-0.5b'."),
    seed: int = typer.Option(0, help="Seed of the random initialization."),
) -> None:
    """Write a random-initialized Qwen2 model + tokenizer that from_pretrained loads like a real checkpoint.

    Example: swesrl model init-tiny runs/tiny --vocab local --corpus steps.jsonl
    """
    from swesrl.training.tiny_model import init_tiny_model

    try:
        path = init_tiny_model(out, vocab=vocab, corpus=corpus, seed=seed, preset=preset)
    except (ValueError, FileNotFoundError) as e:
        raise typer.BadParameter(str(e)) from None
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(path)
    typer.echo(f"wrote {path}: Qwen2 {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}, vocab {cfg.vocab_size}")


@app.command("export")
def export(
    run: Path = typer.Argument(..., help="A run folder (its final weights) or one of its checkpoint-N folders."),
    out: Path = typer.Option(..., "--output-dir", "-o", help="Folder to write the model (safetensors + tokenizer) to."),
    merge: bool = typer.Option(False, "--merge", help="LoRA runs: fold the adapter into its base model's weights."),
) -> None:
    """Write a run as a Hugging Face model folder that from_pretrained, hf:PATH and `vllm serve` load.

    Example: swesrl model export runs/srl-7b -o models/srl-7b --merge
    """
    from swesrl.training.export import export_model

    done = export_model(run, out, merge=merge)  # an ExportError prints as one line
    typer.echo(f"wrote {done.path}: {done.parameters:,} parameters" + (" (LoRA merged into its base)" if done.merged_lora else ""))
