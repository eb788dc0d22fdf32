"""The default training run, measured where it counts: on the steps of whole tasks it never trained
on. The quickstart's own training and evaluation commands run (split -> tiny model -> SFT -> SRL, and
SFT continued for SRL's compute -> `swesrl train evaluate` on the held-out steps, greedy and 4 samples
a step at temperature 1).

Asserted, each with a margin below the measured gap (in parentheses): SFT and SRL answer in format
greedily (< 10% format errors; measured 5.1% and 0%), SRL's greedy answers differ by prompt (13
distinct on 78 steps: no collapse onto one answer), SRL's greedy reward beats the trivial answers
`submit` and copying the previous expert action, and, sampled (what SRL optimizes), SRL beats SFT
given the same compute in reward and in format errors.

Not reached, so not asserted (BENCHMARKS.md "Training"): beating the best constant answer of the
training targets (0.535 vs 0.564) and the empty bash call (0.515) greedily, and SFT-more greedily
(0.535 vs 0.509: within the seed-to-seed spread, which is larger than every gap here: across seeds
0-2 SRL's greedy reward ranges 0.37-0.54; `python bench/srl_seeds.py`).

Seeds are fixed and the tiny model runs on one thread, so results repeat on one machine. The table is
printed (pytest -s or -rA).
"""

from __future__ import annotations

import io
import json

import pytest

MARGINS_GREEDY = {"submit": 0.1, "previous expert action": 0.04}  # (0.18, 0.07)
MARGIN_SAMPLED_OVER_SFT_MORE = 0.05  # (0.106)
MAX_FORMAT_ERRORS = 0.10
MIN_DISTINCT = 8  # (13)


@pytest.mark.slow
def test_srl_in_format_varied_and_above_sft_with_the_same_compute_on_held_out_tasks(tmp_path):
    from rich.console import Console

    from swesrl.quickstart import examples_dir, heldout_table, run_stages, stages

    training = [s for s in stages(tmp_path, examples_dir(), workers=1) if s.args[0] in ("traj", "model", "train")]
    text = io.StringIO()  # Docker evaluation and the report are not what this test measures
    try:
        times = run_stages(training, tmp_path, Console(file=text, width=200))  # SRL beside SFT-more, as the quickstart
    except SystemExit:
        pytest.fail(text.getvalue()[-4000:])

    result = json.loads((tmp_path / "heldout_eval.json").read_text())
    print(f"\n{result['rows']} held-out steps; wall seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    Console(width=160).print(heldout_table(result))

    models, baselines = result["models"], result["baselines"]
    assert result["rows"] >= 40 and set(baselines) == {"submit", "empty bash", "best constant", "previous expert action"}
    sft, srl, sft_more = models["sft"], models["srl"], models["sft-more"]
    assert sft["greedy"]["format_error_rate"] < MAX_FORMAT_ERRORS
    assert srl["greedy"]["format_error_rate"] < MAX_FORMAT_ERRORS
    assert srl["greedy"]["distinct_answers"] >= MIN_DISTINCT
    for name, margin in MARGINS_GREEDY.items():
        reward, theirs = srl["greedy"]["reward_mean"], baselines[name]["reward_mean"]
        assert reward >= theirs + margin, f"SRL {reward:.3f} vs {name} {theirs:.3f}"
    srl_sampled, more_sampled = srl["sampled"], sft_more["sampled"]
    assert srl_sampled["reward_mean"] >= more_sampled["reward_mean"] + MARGIN_SAMPLED_OVER_SFT_MORE, (srl_sampled, more_sampled)
    assert srl_sampled["format_error_rate"] < more_sampled["format_error_rate"]
