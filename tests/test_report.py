"""`swesrl report` turns a run folder into an HTML page that a browser really renders, plots included."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.eval.results import InstanceResult, build_report, write_result
from swesrl.trajectories import Bash, Step, Submit, Trajectory

ARTIFACTS = Path(__file__).resolve().parents[1] / ".pytest_artifacts"


def _run_folder(root: Path) -> Path:
    """A run folder as the pipeline lays it out: a training stage's metrics and one evaluation run."""
    srl = root / "srl"
    srl.mkdir(parents=True)
    rows = [
        {"step": s, "reward_mean": -0.5 + 0.1 * s, "reward_std": 0.2, "groups_kept_frac": 0.5 + 0.02 * s,
         "format_error_rate": max(0.0, 0.6 - 0.1 * s), "completion_length": 40 + s, "loss": 1.0 / s}
        for s in range(1, 9)
    ]
    rows[2]["groups_kept_frac"] = 0.0  # a step where no group was kept
    (srl / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 9, "rew')
    run = root / "eval" / "replay"
    (run / "trajectories").mkdir(parents=True)
    results = {
        "demo__demo-1": InstanceResult("demo__demo-1", "resolved", timings={"total": 3.2}),
        "demo__demo-2": InstanceResult("demo__demo-2", "unresolved", reason="FAIL_TO_PASS failed", timings={"total": 2.5}),
    }
    for res in results.values():
        write_result(run, res, "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n")
    traj = Trajectory("demo__demo-1", "The <b>frobnicator</b> crashes.", [
        Step("Look around.", Bash("ls /testbed"), "setup.py\nsrc"),
        Step("", None, "Your answer was not in the required format", action_error="no function call",
             raw={"answer": "I will <i>guess</i>"}),
        Step("Done.", Submit(), ""),
    ], instance_id="demo__demo-1", metadata={"exit_status": "submitted", "wall_time": 4.25})
    (run / "trajectories" / "demo__demo-1.json").write_text(json.dumps(traj.to_dict(with_raw=True)))
    report = build_report([*results, "demo__demo-3"], list(results), results, run_id="replay")  # demo-3: no prediction
    (run / "report.json").write_text(json.dumps(report))
    return root


def test_report_holds_curves_rates_and_instances(tmp_path):
    root = _run_folder(tmp_path / "run")
    result = CliRunner().invoke(app, ["report", str(root)])
    assert result.exit_code == 0, result.output
    page = (root / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 6  # 5 training curves + resolve rates
    assert "replay: 1/3 resolved (33%)" in page
    # status, reason, agent exit, steps, agent time, eval time, patch lines
    assert "<td class='resolved'>resolved</td><td title=''></td><td>submitted</td><td>3</td><td>4.2</td><td>3.2</td><td>6</td>" in page
    assert "No prediction (not evaluated): demo__demo-3" in page
    traj_page = (root / "report" / "trajectories" / "eval__replay__demo__demo-1.html").read_text()
    assert "&lt;b&gt;frobnicator&lt;/b&gt;" in traj_page and "ls /testbed" in traj_page
    assert "<b>submitted</b> after 3 steps" in traj_page and "I will &lt;i&gt;guess&lt;/i&gt;" in traj_page  # raw malformed answer
    md = (root / "report" / "report.md").read_text()
    assert "| srl | 8 | -0.400 | 0.300 | 3 |" in md
    assert "| demo__demo-2 | unresolved | FAIL_TO_PASS failed | - | - | - | 2.5 | 6 |" in md


def test_report_on_an_empty_folder_says_so(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0
    assert "No training metrics" in (tmp_path / "report" / "report.html").read_text()


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (scripts/test.sh installs Debian's chromium)")
    from PIL import Image

    root = _run_folder(tmp_path / "run")
    CliRunner().invoke(app, ["report", str(root)])
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400", f"--screenshot={shot}",
         (root / "report" / "report.html").as_uri()],
        check=True, timeout=120, capture_output=True,
    )
    image = Image.open(shot).convert("RGB")
    # matplotlib's first line colour (#1f77b4) and the resolve-rate bars (#3b7dd8) are on screen:
    # the embedded plots were decoded and painted, not just present in the markup.
    colours = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    assert (0x1F, 0x77, 0xB4) in colours
    assert (0x3B, 0x7D, 0xD8) in colours
    print(f"screenshot: {shot}")


def test_report_puts_the_protocols_side_by_side_and_shows_pipeline_stages(tmp_path):
    for protocol, status in (("oracle", "resolved"), ("pipeline", "unresolved")):
        run = tmp_path / protocol
        (run / "trajectories").mkdir(parents=True)
        result = InstanceResult("demo__demo-1", status, timings={"total": 1.0})
        write_result(run, result, "")
        meta = {"model": "hf:runs/srl", "mode": protocol}
        if protocol == "pipeline":
            meta |= {"localization": {"files": ["docs/x.py"], "gold_files": ["src/x.py"], "hit": False, "recall": 0.0},
                     "stages": [{"stage": "localize", "messages": [{"role": "user", "content": "<repository>"}],
                                 "answers": ["```\ndocs/x.py\n```"]}]}
        steps = [Step("fix", Bash("true"), "")]
        traj = Trajectory("demo__demo-1", "x breaks", steps, instance_id="demo__demo-1", metadata=meta)
        (run / "trajectories" / "demo__demo-1.json").write_text(json.dumps(traj.to_dict()))
        (run / "report.json").write_text(json.dumps(build_report(["demo__demo-1"], ["demo__demo-1"], {"demo__demo-1": result})))
    assert CliRunner().invoke(app, ["report", str(tmp_path)]).exit_code == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| model | oracle | pipeline | agent |" in md
    assert "| hf:runs/srl | 1/1 (100.0%) | 0/1 (0.0%) | - |" in md
    assert "pipeline: 0/1 resolved (0%); gold files localized in 0/1" in md and "| demo__demo-1 | unresolved |  | miss |" in md
    assert "| demo__demo-1 | resolved | unresolved |" in md  # instances x runs
    page = (tmp_path / "report" / "trajectories" / "pipeline__demo__demo-1.html").read_text()
    assert "stage: localize" in page and "&lt;repository&gt;" in page and "MISS" in page
