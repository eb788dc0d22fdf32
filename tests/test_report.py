"""`swesrl report` turns a run folder into an HTML page that a browser really renders, plots included."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from conftest import short_temp_dir
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.eval.results import InstanceResult, build_report, write_result
from swesrl.trajectories import Bash, Step, Submit, Trajectory

ARTIFACTS = Path(__file__).resolve().parents[1] / ".pytest_artifacts"


def _metrics(root: Path) -> None:
    """A training stage's metrics.jsonl, as SRL writes it (the last line cut by a crash)."""
    srl = root / "srl"
    srl.mkdir(parents=True)
    rows = [
        {"step": s, "reward_mean": -0.5 + 0.1 * s, "reward_std": 0.2, "groups_kept_frac": 0.5 + 0.02 * s,
         "format_error_rate": max(0.0, 0.6 - 0.1 * s), "completion_length": 40 + s, "loss": 1.0 / s}
        for s in range(1, 9)
    ]
    rows[2]["groups_kept_frac"] = 0.0  # a step where no group was kept
    (srl / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 9, "rew')


def _run_folder(root: Path) -> Path:
    """A run folder as the pipeline lays it out: a training stage's metrics and one evaluation run."""
    _metrics(root)
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
    report = build_report([*results, "demo__demo-3"], list(results), results, run_id="replay",  # demo-3: no prediction
                          prediction_errors=["preds.jsonl, line 4: invalid JSON (Expecting value)"])
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
    assert '<td class="resolved">resolved</td><td></td><td>submitted</td><td>3</td><td>4.2</td><td>3.2</td><td>6</td>' in page
    assert '<td title="FAIL_TO_PASS failed">FAIL_TO_PASS failed</td>' in page
    assert "No prediction (not evaluated): demo__demo-3" in page
    assert "Prediction not read: preds.jsonl, line 4: invalid JSON (Expecting value)" in page
    traj_page = (root / "report" / "trajectories" / "eval__replay__demo__demo-1.html").read_text()
    assert "&lt;b&gt;frobnicator&lt;/b&gt;" in traj_page and "ls /testbed" in traj_page
    assert '<b class="submitted">submitted</b> after 3 steps' in traj_page and "I will &lt;i&gt;guess&lt;/i&gt;" in traj_page  # raw malformed answer
    md = (root / "report" / "report.md").read_text()
    assert "| srl | 8 | -0.400 | 0.300 | 3 |" in md
    assert "| demo__demo-2 | unresolved | FAIL_TO_PASS failed | - | - | - | 2.5 | 6 |" in md


def test_report_on_an_empty_folder_says_so(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0
    assert "No training metrics" in (tmp_path / "report" / "report.html").read_text()


def test_report_on_a_file_that_is_no_agent_run_is_one_line(tmp_path):
    steps = tmp_path / "steps.jsonl"  # step examples, as `traj split` writes them: not a run to report
    steps.write_text(json.dumps({"messages": [], "target": "<function=submit>\n</function>"}) + "\n")
    result = CliRunner().invoke(app, ["report", str(steps)])
    assert result.exit_code == 2 and "not an `agent run` trajectory" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.jsonl"]


BUNDLED = [json.loads(line)["instance_id"] for line in
           (Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tasks.jsonl").read_text().splitlines() if line.strip()]


def _quickstart_folder(root: Path) -> Path:
    """What `swesrl quickstart` leaves: training metrics, then two runs over the same bundled tasks (the
    expert replay resolves them; the tiny SRL model submits at step 1, an empty patch each)."""
    _metrics(root)
    for run_id in ("replay", "srl-tiny"):
        run = root / "eval" / run_id
        (run / "trajectories").mkdir(parents=True, exist_ok=True)
        results = {}
        for iid in BUNDLED:
            if run_id == "replay":
                results[iid] = InstanceResult(iid, "resolved", timings={"total": 3.0})
                steps = [Step("Reproduce.", Bash("python repro.py"), "Traceback"), Step("Fixed.", Submit(), "")]
            else:
                results[iid] = InstanceResult(iid, "empty_patch", reason="the patch is empty")
                steps = [Step("", Submit(), "")]
            write_result(run, results[iid], "diff --git a/x b/x\n" if run_id == "replay" else "")
            traj = Trajectory(iid, "issue", steps, instance_id=iid, metadata={"exit_status": "submitted", "wall_time": 1.5})
            (run / "trajectories" / f"{iid}.json").write_text(json.dumps(traj.to_dict()))
        (run / "report.json").write_text(json.dumps(build_report(BUNDLED, BUNDLED, results, run_id=run_id)))
    return root


def _chromium(profile: Path, page: Path, *mode: str) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (scripts/test.sh installs Debian's chromium)")
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-pdf-header-footer",
         f"--user-data-dir={profile}", "--window-size=1200,4000", *mode, page.as_uri()],
        check=True, timeout=120, capture_output=True,
        env={**os.environ, "TMPDIR": str(profile)},  # its singleton socket goes under TMPDIR: keep it short
    )


@pytest.mark.slow
def test_quickstart_report_renders_reasons_and_the_cross_run_matrix_in_headless_chromium(tmp_path):
    """The browser paints what the page says: the plots (their colours in the screenshot), and, in the
    text chromium lays out when it prints the page, every run's reasons and the instances × runs matrix."""
    from PIL import Image
    from pypdf import PdfReader

    root = _quickstart_folder(tmp_path / "quickstart")
    assert CliRunner().invoke(app, ["report", str(root)]).exit_code == 0
    page = root / "report" / "report.html"
    ARTIFACTS.mkdir(exist_ok=True)
    shot, pdf = ARTIFACTS / "report.png", tmp_path / "report.pdf"
    shot.unlink(missing_ok=True)
    profile = Path(short_temp_dir("chromium"))  # its profile lock is a Unix socket: a short path
    try:
        _chromium(profile, page, f"--screenshot={shot}")
        _chromium(profile, page, f"--print-to-pdf={pdf}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    colours = {c for _, c in Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 22)}
    # matplotlib's first line colour (#1f77b4) and the resolve-rate bars (#3b7dd8): plots decoded and painted
    assert (0x1F, 0x77, 0xB4) in colours and (0x3B, 0x7D, 0xD8) in colours
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    text = re.sub(r"(?<=\w)- (?=\w)", "-", unicodedata.normalize("NFKC", text))  # ligatures; ids wrapped at a hyphen
    assert "Instances × runs instance eval/replay eval/srl-tiny" in text
    for iid in BUNDLED:  # one matrix row per bundled task, each run's status in its column
        assert f"{iid} resolved empty_patch" in text
        assert f"{iid} empty_patch the patch is empty submitted 1" in text  # reason and agent exit, as painted
    assert "srl-tiny: 0/7 resolved (0%)" in text and "replay: 7/7 resolved (100%)" in text
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
        tasks = ["demo__demo-1", "demo__demo-2"] if protocol == "oracle" else ["demo__demo-1"]  # demo-2: no prediction
        (run / "report.json").write_text(json.dumps(build_report(tasks, ["demo__demo-1"], {"demo__demo-1": result})))
    assert CliRunner().invoke(app, ["report", str(tmp_path)]).exit_code == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| model | oracle | pipeline | agent |" in md
    assert "| hf:runs/srl | 1/2 (50.0%) | 0/1 (0.0%) | - |" in md
    assert "pipeline: 0/1 resolved (0%); gold files localized in 0/1" in md and "| demo__demo-1 | unresolved |  | miss |" in md
    assert "| demo__demo-1 | resolved | unresolved |" in md and "| demo__demo-2 | not evaluated | - |" in md  # instances x runs
    page = (tmp_path / "report" / "trajectories" / "pipeline__demo__demo-1.html").read_text()
    assert "stage: localize" in page and "&lt;repository&gt;" in page and "MISS" in page


def test_agent_run_outputs_get_a_table_and_pages_from_their_folder_or_one_file(tmp_path):
    """`agent run` writes OUT.jsonl beside OUT.config.yaml (and OUT.patch when it ends); the report
    opens the folder or the one file, as mini-swe-agent's inspector opens a trajectory."""
    from swesrl.agent.loop import save_trajectory

    folder = tmp_path / "runs" / "agent"
    folder.mkdir(parents=True)
    done = Trajectory("calc", "add <subtracts>", [Step("Fix the sign.", Bash("sed -i s/-/+/ calc.py"), ""), Step("Done.", Submit(), "")],
                      final_patch="-    return a - b\n+    return a + b\n",
                      metadata={"exit_status": "submitted", "wall_time": 12.5,
                                "usage": {"prompt_tokens": 300, "completion_tokens": 150, "cost": 0.00123}})
    running = Trajectory("calc", "add subtracts", [Step("Look.", Bash("ls"), "calc.py")])  # interrupted: no exit yet
    for name, traj in (("calc-1", done), ("calc-2", running)):
        save_trajectory(traj, folder / f"{name}.jsonl")
        (folder / f"{name}.config.yaml").write_text("model:\n  spec: replay\n")
    (folder / "calc-1.patch").write_text(done.final_patch)
    (folder / "notes.jsonl").write_text("{}\n")  # no config beside it: not an agent run
    assert CliRunner().invoke(app, ["report", str(tmp_path / "runs")]).exit_code == 0
    md = (tmp_path / "runs" / "report" / "report.md").read_text()
    assert "| agent/calc-1.jsonl | submitted | 2 | 300 + 150 | $0.0012 | 12.5 | 2 | bash → submit |" in md
    assert "| agent/calc-2.jsonl | running | 1 | - | - | - | 0 | bash |" in md and "notes" not in md
    page = (tmp_path / "runs" / "report" / "trajectories" / "agent__calc-1.jsonl.html").read_text()
    assert '<b class="submitted">submitted</b> after 2 steps' in page and "300 prompt + 150 completion tokens, $0.0012" in page
    assert "add &lt;subtracts&gt;" in page and "+    return a + b" in page

    result = CliRunner().invoke(app, ["report", str(folder / "calc-1.jsonl")])  # one file
    assert result.exit_code == 0 and "calc-1.report" in result.output
    one = (folder / "calc-1.report" / "report.md").read_text()
    assert "| calc-1.jsonl | submitted |" in one and "calc-2" not in one
