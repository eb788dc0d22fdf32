"""The README's Tour runs as written, in order, on the bundled data, so the README cannot drift.

Skipped, each for a stated reason: lines that need a GPU (the vLLM block), a model server, an
interactive terminal or the reader's own repository; RLVR (one step is minutes on a CPU: its own
tests cover it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {
    "openai:": "needs a model server",
    "sandbox shell": "interactive",
    "path/to/your/repo": "the reader's own repository",
    "train rlvr": "one RLVR step is minutes on a CPU (tests/test_rlvr.py covers it)",
}


def tour_commands(readme: str) -> list[str]:
    """The Tour's bash lines in order, continuation lines joined, comments kept (bash ignores them)."""
    tour = readme.split("\n## Tour", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", tour, re.S):
        if any(line.startswith("vllm serve") for line in block.splitlines()):  # needs a GPU
            continue
        lines += [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return lines


def test_tour_extraction_finds_every_stage():
    lines = tour_commands((ROOT / "README.md").read_text())
    assert any(" traj split " in x for x in lines) and any(" train srl " in x for x in lines)
    assert any(" eval patches " in x for x in lines) and any(x.startswith("swesrl report") for x in lines)
    assert all(not line.startswith("vllm") for line in lines)


@pytest.mark.docker
@pytest.mark.slow
def test_readme_tour_runs_as_written(tmp_path):
    kept = [line for line in tour_commands((ROOT / "README.md").read_text()) if not any(k in line for k in SKIP)]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = "\n".join(["set -euo pipefail", f'swesrl() {{ "{sys.executable}" -m swesrl "$@"; }}',
                        *[f"echo '>>> {i}'; {line}" for i, line in enumerate(kept)]])
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=1500,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    last = re.findall(r">>> (\d+)", done.stdout)
    failed = kept[int(last[-1])] if last else "(before the first command)"
    assert done.returncode == 0, f"README Tour line failed: {failed}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert (tmp_path / "runs" / "eval" / "expert-replay" / "report.json").is_file()
    assert (tmp_path / "runs" / "srl" / "metrics.jsonl").is_file()
