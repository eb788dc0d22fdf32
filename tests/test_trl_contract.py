"""SRLTrainer reaches into GRPOTrainer's private members; a TRL release that renames or reshapes one
must fail here, by name, not in the middle of a GPU run. pyproject pins trl below the next minor release."""

from __future__ import annotations

import inspect

import pytest

pytest.importorskip("trl")

# member -> the parameters SRLTrainer/RLVRTrainer call or override it with (None: an attribute)
OVERRIDDEN = {
    "_generate_and_score_completions": ["self", "inputs"],
    "_calculate_rewards": ["self", "inputs", "prompts", "completions", "completion_ids_list"],
    "_prepare_inputs": ["self", "generation_batch"],
    "_save_checkpoint": ["self", "model", "trial"],
    "_load_optimizer_and_scheduler": ["self", "checkpoint"],
    "_get_output_dir": ["self", "trial"],
}
ATTRIBUTES = ["_metrics", "_tokenizer", "_buffered_inputs", "_step", "num_generations", "reward_weights",
              "vllm_generation", "_last_loaded_step"]  # the last two: validation through the recipe's vLLM
# what training/validation.py switches to greedy on TRL's VLLMGeneration for the duration of a validation
VLLM_SAMPLING = ["temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_completion_length", "generation_kwargs"]


def test_trl_version_is_the_one_srl_trainer_was_written_against():
    import trl
    from packaging.version import Version

    assert Version("1.16") <= Version(trl.__version__) < Version("1.17"), trl.__version__


@pytest.mark.parametrize("name", sorted(OVERRIDDEN))
def test_overridden_members_keep_their_signature(name):
    from trl import GRPOTrainer

    member = getattr(GRPOTrainer, name, None)
    assert callable(member), f"GRPOTrainer.{name} is gone: SRLTrainer overrides it"
    assert list(inspect.signature(member).parameters) == OVERRIDDEN[name], f"GRPOTrainer.{name} changed its parameters"


def test_attributes_srl_trainer_reads_are_set_by_grpo_trainer():
    from trl import GRPOTrainer

    source = inspect.getsource(GRPOTrainer.__init__)
    missing = [a for a in ATTRIBUTES if f"self.{a} =" not in source]
    assert not missing, f"GRPOTrainer.__init__ no longer sets {missing}"


def test_trl_still_shuffles_rows_where_srl_trainer_shuffles_groups():
    """SRLTrainer._prepare_inputs replaces TRL's buffering; TRL's must still be the one it replaces."""
    from trl import GRPOTrainer

    source = inspect.getsource(GRPOTrainer._prepare_inputs)
    for piece in ("shuffle_sequence_dict", "split_tensor_dict", "steps_per_generation", "_buffered_inputs"):
        assert piece in source, f"GRPOTrainer._prepare_inputs no longer uses {piece}"


def test_vllm_generation_keeps_what_validation_uses():
    from trl.generation.vllm_generation import VLLMGeneration

    source = inspect.getsource(VLLMGeneration.__init__)
    missing = [a for a in VLLM_SAMPLING if f"self.{a} =" not in source]
    assert not missing, f"VLLMGeneration.__init__ no longer sets {missing}"
    generate = inspect.getsource(VLLMGeneration.generate)
    assert all(f"self.{a}" in generate for a in VLLM_SAMPLING), "VLLMGeneration.generate no longer reads its sampling attributes"
    assert list(inspect.signature(VLLMGeneration.generate).parameters)[:4] == ["self", "prompts", "images", "num_generations"]
    assert list(inspect.signature(VLLMGeneration.sync_weights).parameters) == ["self"]
