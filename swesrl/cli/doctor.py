"""`swesrl doctor`: what this machine can run, and how to fix what it cannot."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
from dataclasses import dataclass

import typer
from rich.markup import escape
from rich.table import Column, Table

from .output import out

# (module, extra that installs it, what needs it)
_EXTRAS = (
    ("torch", None, "training and local models (install torch==2.13.0 for CPU, or your CUDA build)"),
    ("transformers", "train", "local models"),
    ("trl", "train", "SFT / SRL / RLVR training"),
    ("peft", "train", "LoRA"),
    ("datasets", "train", "training data"),
    ("swebench", "eval", "SWE-bench log parsers and grading"),
    ("vllm", "vllm", "fast generation on a GPU (optional)"),
    ("ray", "ray", "parallel rollouts (optional)"),
)
_REQUIRED = {"torch", "transformers", "trl", "swebench"}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _docker() -> tuple[Check, object | None]:
    try:
        import docker

        client = docker.from_env(timeout=5)
        v = client.version()
        return Check("docker daemon", True, f"Docker {v.get('Version', '?')}"), client
    except Exception as e:
        return Check("docker daemon", False, f"no daemon answers ({type(e).__name__})", "bash scripts/setup-docker.sh"), None


def _base_image(client: object | None) -> Check:
    if client is None:
        return Check("base image", False, "unknown: no Docker daemon", "start Docker first")
    from swesrl.sandbox.images import base_image_tag, image_exists

    tag = base_image_tag()
    if image_exists(tag):
        return Check("base image", True, tag)
    return Check("base image", False, f"{tag} not built yet (~30 s once)", "swesrl sandbox base")


def _disk(client: object | None, min_free_gb: float) -> Check:
    path = "/"
    if client is not None:
        root = client.info().get("DockerRootDir")  # type: ignore[attr-defined]
        path = root if root and os.path.exists(root) else "/"
    free = shutil.disk_usage(path).free / 1e9
    ok = free >= min_free_gb
    return Check(
        "disk free", ok, f"{free:.1f} GB free under {path}",
        "" if ok else "swesrl sandbox prune --images instance (or free space)",
    )  # fmt: skip


def _extra(module: str, extra: str | None, what: str) -> Check:
    required = module in _REQUIRED
    if importlib.util.find_spec(module) is None:
        fix = f"pip install 'swesrl[{extra}]'" if extra else "pip install torch==2.13.0"
        return Check(module, False, f"missing: {what}", fix, required)
    try:
        version = importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    return Check(module, True, version, required=required)


def doctor(
    min_free_gb: float = typer.Option(10.0, "--min-free-gb", help="Warn when Docker's disk has less free space than this."),
) -> None:
    """Check Docker, the base image, optional extras and disk space; say how to fix each problem.

    Exits 1 when something required is missing (optional extras only warn).

    Example: swesrl doctor
    """
    docker_check, client = _docker()
    checks = [docker_check, _base_image(client), _disk(client, min_free_gb)]
    checks += [_extra(*e) for e in _EXTRAS]
    table = Table(*(Column(h, overflow="fold") for h in ("check", "status", "detail", "fix")))  # whole at any width
    for c in checks:
        status = "[green]ok[/]" if c.ok else ("[red]missing[/]" if c.required else "[yellow]optional[/]")
        table.add_row(c.name, status, escape(c.detail), escape(c.fix))
    out().print(table)
    if any(not c.ok and c.required for c in checks):
        raise typer.Exit(1)
