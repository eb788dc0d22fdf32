"""Two processes (torchrun, gloo, the tiny model), one run for both tests: dynamic sampling keeps whole
groups on every rank and the same number of generation rounds on both when only one rank drops its
groups, with no deadlock; validation at each checkpoint shares the rows out and only rank 0 records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

SCRIPT = r'''
import json, os, sys
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from swesrl.training.config import SRLConfig
from swesrl.training.srl_trainer import SRLTrainer
from swesrl.training import validation

model_dir, out = sys.argv[1], sys.argv[2]
rank = int(os.environ["RANK"])
seen_steps = set()

def reward(prompts, completions, completion_ids, trainer_state, **kw):
    """Rank 0's first round of every generation is flat (all its groups dropped); otherwise rewards vary."""
    first = trainer_state.global_step not in seen_steps
    seen_steps.add(trainer_state.global_step)
    if rank == 0 and first:
        return [0.5] * len(completion_ids)
    return [float(sum(ids) % 7) for ids in completion_ids]

config = SRLConfig(
    output_dir=out, use_cpu=True, bf16=False, activation_checkpointing=False, seed=0, num_generations=4,
    per_device_train_batch_size=4, gradient_accumulation_steps=2, num_iterations=2, max_completion_length=4,
    learning_rate=1e-2, max_steps=3, logging_steps=1, save_steps=1, report_to=[], disable_tqdm=True,
    max_refill_rounds=3, loss_type="grpo",
)
data = Dataset.from_list([{"prompt": [{"role": "user", "content": f"prompt {i}"}]} for i in range(16)])
tok = AutoTokenizer.from_pretrained(model_dir)
trainer = SRLTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir), reward_funcs=[reward], args=config,
                     train_dataset=data, processing_class=tok)
val_rows = [{"messages": [{"role": "user", "content": f"validate {i}"}], "target": "<function=submit>\n</function>"}
            for i in range(5)]
callback = validation.ValidationCallback(val_rows, trainer, out, max_new_tokens=4)
answer, shares, recorded = callback.answer, [], []
def answer_spy(rows):
    shares.append([r["messages"][0]["content"] for r in rows])
    return answer(rows)
callback.answer = answer_spy
record = validation.record
def record_spy(run_dir, result):
    recorded.append(result["step"])
    return record(run_dir, result)
validation.record = record_spy
trainer.add_callback(callback)
rounds, micro = [], []
generate = trainer._generate_and_score_completions
def counted(inputs):
    before = len(trainer._metrics["train"]["dynamic_sampling/rounds"])
    out = generate(inputs)
    rounds.append(trainer._metrics["train"]["dynamic_sampling/rounds"][before:])
    return out
trainer._generate_and_score_completions = counted
loss = trainer.compute_loss
def spy(model, inputs, *a, **k):
    micro.append(tok.batch_decode(inputs["prompt_ids"], skip_special_tokens=True))
    return loss(model, inputs, *a, **k)
trainer.compute_loss = spy
trainer.train()
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump({"rounds": rounds, "micro_batches": micro, "steps": trainer.state.global_step, "shares": shares,
               "recorded": recorded}, f)
torch.distributed.destroy_process_group()  # as `swesrl train` does: gloo's threads alive at exit can abort it
'''


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    from swesrl.training.tiny_model import init_tiny_model

    tmp_path = tmp_path_factory.mktemp("two_process")
    model = init_tiny_model(tmp_path / "tiny")
    script = tmp_path / "two_process_srl.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script), str(model), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)  # a deadlock ends here, loudly
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp_path, [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.slow
def test_two_processes_keep_whole_groups_and_equal_rounds(two_process_run):
    _, ranks = two_process_run
    assert ranks[0]["steps"] == ranks[1]["steps"] == 3
    assert ranks[0]["rounds"] == ranks[1]["rounds"]  # the same collective calls on both ranks
    assert ranks[0]["rounds"] == [[2], [2]]  # 2 generations (num_iterations 2), each a refill for rank 0's flat round
    for rank in ranks:
        assert len(rank["micro_batches"]) == 3 * 2 * 1  # steps x accumulation (each micro-batch is one group)
        for texts in rank["micro_batches"]:
            assert len(texts) == 4 and len(set(texts)) == 1  # G=4 rollouts of one prompt, never split across ranks


@pytest.mark.slow
def test_validation_shares_rows_over_ranks_and_only_rank_0_records(two_process_run):
    from swesrl.training.validation import BEST_FILE, VALIDATION_FILE

    out, ranks = two_process_run
    # 5 rows in equal shares of 3 (the last row repeated), one share per rank at each of the 3 checkpoints
    assert ranks[0]["shares"] == [[f"validate {i}" for i in range(3)]] * 3
    assert ranks[1]["shares"] == [["validate 3", "validate 4", "validate 4"]] * 3
    assert ranks[0]["recorded"] == [1, 2, 3] and ranks[1]["recorded"] == []
    results = {n: json.loads((out / f"checkpoint-{n}" / VALIDATION_FILE).read_text()) for n in (1, 2, 3)}
    assert all(r["step"] == n and r["val_examples"] == 5 for n, r in results.items())  # the gathered answers, padding dropped
    assert all(r["val_seconds"] > 0 for r in results.values())
    best = max(results, key=lambda n: (results[n]["val_reward_mean"], -n))
    assert Path((out / BEST_FILE).read_text().strip()) == (out / f"checkpoint-{best}").resolve()
