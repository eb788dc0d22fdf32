"""SRL trainer: dynamic sampling keeps zero-variance groups out of the loss and batches full; training
moves every parameter; a run killed with -9 resumes to the same losses as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_train_data import write_step_examples  # noqa: E402

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from swesrl.training.tiny_model import init_tiny_model

    return init_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _config(out: Path, **kw):
    from swesrl.training.config import SRLConfig

    base = dict(
        output_dir=str(out), use_cpu=True, bf16=False, activation_checkpointing=False, seed=0, num_generations=4,
        per_device_train_batch_size=8, max_completion_length=6, learning_rate=1e-2, max_steps=2,
        logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, max_refill_rounds=3,
    )
    return SRLConfig(**{**base, **kw})


def _prompts(n: int):
    from datasets import Dataset

    # even rows: a reward that ignores the completion (zero variance); odd rows: one that varies.
    return Dataset.from_list([{"prompt": [{"role": "user", "content": f"{'FLAT' if i % 2 == 0 else 'VARY'} {i}"}], "flat": i % 2 == 0} for i in range(n)])


def _reward(prompts, completions, completion_ids, flat, **kw):
    return [0.5 if f else float(sum(ids) % 7) for ids, f in zip(completion_ids, flat, strict=True)]


class _Spy:
    """Records what reaches compute_loss."""

    def __init__(self, trainer):
        self.batches = []
        original = trainer.compute_loss

        def compute_loss(model, inputs, *a, **kw):
            self.batches.append({k: v for k, v in inputs.items() if isinstance(v, torch.Tensor)})
            return original(model, inputs, *a, **kw)

        trainer.compute_loss = compute_loss


def _trainer(tiny, out, **kw):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swesrl.training.srl_trainer import SRLTrainer

    tok = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    return SRLTrainer(model=model, reward_funcs=[_reward], args=_config(out, **kw), train_dataset=_prompts(16), processing_class=tok)


def test_zero_variance_groups_never_reach_the_loss_and_batches_stay_full(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path)
    spy = _Spy(trainer)
    trainer.train()
    assert len(spy.batches) == 2
    tok = trainer.processing_class
    for batch in spy.batches:
        assert batch["prompt_ids"].shape[0] == 8  # B prompts x G rows, always
        trained = batch["completion_mask"].sum(dim=1) > 0
        texts = tok.batch_decode(batch["prompt_ids"], skip_special_tokens=True)
        assert all("VARY" in t for t, on in zip(texts, trained.tolist(), strict=True) if on)
        assert all(batch["advantages"][~trained] == 0)
    kept = trainer.state.log_history[0]["dynamic_sampling/groups_kept_frac"]
    assert 0 < kept < 1  # half the prompts are flat: some groups were dropped, and refills ran


def test_without_dynamic_sampling_flat_groups_do_reach_the_loss(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, dynamic_sampling=False)
    spy = _Spy(trainer)
    trainer.train()
    texts = [t for b in spy.batches for t in trainer.processing_class.batch_decode(b["prompt_ids"], skip_special_tokens=True)]
    assert any("FLAT" in t for t in texts)


def test_every_trainable_parameter_changes(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, max_steps=3)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    for name, param in trainer.model.named_parameters():
        assert not torch.equal(before[name], param.detach()), f"{name} did not change"


_RUN = """
import sys
from swesrl.training.recipes import build_config
from swesrl.training.run import train

def reward(prompts, completions, completion_ids, **kw):  # varies, so losses are not all zero
    return [float(sum(ids) % 7) for ids in completion_ids]

data, model, out, resume = sys.argv[1:5]
overrides = ["max_steps=6", "save_steps=2", "max_completion_length=8", "per_device_train_batch_size=8", "report_to=none"]
config = build_config("tiny-cpu", overrides, method="srl", data=data, model=model, output_dir=out)
train(config, resume=resume or None, reward_funcs=[reward])
"""


def _srl_cmd(data: Path, model: Path, out: Path, resume: str = "") -> list[str]:
    return [sys.executable, "-c", _RUN, str(data), str(model), str(out), resume]


def _losses(run: Path) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_same_losses(tiny, tmp_path):
    data = write_step_examples(tmp_path / "steps.jsonl", 16)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_srl_cmd(data, tiny, tmp_path / "ref"), check=True, env=env, capture_output=True)
    reference = _losses(tmp_path / "ref")
    assert any(loss != 0 for loss in reference.values())  # a real policy-gradient signal to compare

    run = tmp_path / "killed"
    proc = subprocess.Popen(_srl_cmd(data, tiny, run), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run / "checkpoint-2" / "trainer_state.json").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "checkpoint-6").exists(), "the run finished before it could be killed"
    subprocess.run(_srl_cmd(data, tiny, run, "auto"), check=True, env=env, capture_output=True)
    resumed = _losses(run)
    assert sorted(resumed) == sorted(reference) == list(range(1, 7))
    for step in range(1, 7):
        assert resumed[step] == pytest.approx(reference[step], abs=1e-6), (step, resumed, reference)


@pytest.mark.gpu
def test_srl_steps_on_a_qwen25_05b_sized_model(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swesrl.training.srl_trainer import SRLTrainer
    from swesrl.training.tiny_model import init_tiny_model

    path = init_tiny_model(tmp_path / "m", preset="qwen2.5-0.5b")
    config = _config(tmp_path / "run", use_cpu=False, bf16=True, max_completion_length=64, learning_rate=1e-6, max_steps=3)
    trainer = SRLTrainer(
        model=AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16), reward_funcs=[_reward], args=config,
        train_dataset=_prompts(16), processing_class=AutoTokenizer.from_pretrained(path),
    )
    trainer.train()
    assert trainer.state.global_step == 3 and next(trainer.model.parameters()).is_cuda
