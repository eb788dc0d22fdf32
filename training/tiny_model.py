"""Random-initialized Qwen2-architecture models with a real tokenizer, for tests and CPU/GPU smoke runs.

No model hub is reachable here, so tests cannot download Qwen2.5. ``init_tiny_model`` writes a
directory that ``from_pretrained`` loads exactly like a real checkpoint, so training and the agent run
the same code path on it as on Qwen2.5-Coder-7B. Two vocabularies:

- ``local``: a byte-level BPE of a few thousand tokens trained here in about a second on the bundled
  prompt templates (+ any files given). Small embeddings keep CPU tests fast. The answer-format tags
  (``<think>``, ``<function=`` ..., also with their newlines) are added tokens, one id each, so a tiny
  model learns the format in a few dozen SFT steps instead of spelling it out byte by byte; they are
  not *special* tokens, so ``skip_special_tokens`` decoding keeps them and the answer parser sees them.
- ``qwen``: Qwen2/2.5's own 151k vocabulary, read from the ``qwen.tiktoken`` file that ships in the
  ``qwen-agent`` wheel (``pip install --no-deps qwen-agent``); ids match Qwen2.5 checkpoints, tags are
  ordinary text as in Qwen2.5.
"""

from __future__ import annotations

import base64
import importlib.util
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from swesrl.errors import MissingExtra, SwesrlError

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN_SPECIAL_IDS = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
QWEN_VOCAB_SIZE = 151936  # Qwen2.5's embedding rows (ids past the tokenizer's are padding)
# With the newlines around them too (matched longest first), so that every format decision is conditioned on
# the single previous token: a 2-layer model learns bigrams at once but not "the token before the newline".
# Whole tool and parameter tags too: split into "<parameter=" + "command>", a 2-layer model mixed the tag's
# pieces into command text ("python -command>cd /testbed ..." loops, measured: 71% of greedy held-out
# answers malformed after 100 SFT steps).
FORMAT_TAGS = (
    "<think>\n", "\n</think>\n", "</parameter>\n",
    "<function=bash>\n", "<function=str_replace_editor>\n", "<function=submit>\n",
    "<parameter=command>", "<parameter=path>", "<parameter=old_str>", "<parameter=new_str>",
    "<parameter=view_range>", "<parameter=file_text>", "<parameter=insert_line>",
    "<think>", "</think>", "<function=", "</function>", "<parameter=", "</parameter>",
)
# Qwen2's pre-tokenizer split: like GPT-4's, but digits one at a time.
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# Qwen-style ChatML. The {% generation %} markers let TRL's SFT train on assistant turns only.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}{{- message['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

TINY = dict(
    hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=8192,
)
# Qwen2.5-0.5B's architecture (for GPU speed/memory runs without its weights).
QWEN25_05B = dict(
    hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
    num_key_value_heads=2, max_position_embeddings=32768,
)
PRESETS = {"tiny": TINY, "qwen2.5-0.5b": QWEN25_05B}

# Text in the action language, so the local BPE learns merges for what answers look like.
_SEED_TEXT = """<think>
Let me look at the repository structure first.
</think>
<function=bash>
<parameter=command>cd /testbed && ls && grep -rn "def " --include=*.py | head && python -m pytest -x -q</parameter>
</function>
<function=str_replace_editor>
<parameter=command>view</parameter>
<parameter=path>/testbed/src/module.py</parameter>
<parameter=view_range>[1, 40]</parameter>
</function>
<function=str_replace_editor>
<parameter=command>str_replace</parameter>
<parameter=path>/testbed/src/module.py</parameter>
<parameter=old_str>    return value</parameter>
<parameter=new_str>    return value if value is not None else default</parameter>
</function>
<function=submit>
</function>
"""


def _corpus_texts(files: Iterable[str | Path]) -> list[str]:
    prompts = resources.files("swesrl.trajectories").joinpath("prompts")
    texts = [p.read_text(encoding="utf-8") for p in prompts.iterdir() if p.is_file()]
    texts.append(_SEED_TEXT)
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise FileNotFoundError(f"corpus file not found: {path}")
        texts += _file_texts(path)
    # The tags become tokens of their own after training: take them out of the training text, or the BPE
    # learns pieces glued to them (">cd", "=command>cd") and splits "cd" after the tag into "c" + "d".
    tags = re.compile("|".join(re.escape(t) for t in sorted(FORMAT_TAGS, key=len, reverse=True)))
    return [tags.sub("\n", t) for t in texts]


def _file_texts(path: Path) -> list[str]:
    """A corpus file's text: step examples (`traj split` JSONL or Parquet) give their messages and
    targets, not their JSON or Parquet bytes; any other file must be UTF-8 text."""
    from .data import DataError, data_kind, load_steps

    if path.suffix in (".jsonl", ".parquet"):
        try:
            steps = data_kind(path) == "steps"
        except (DataError, OSError, ValueError):  # pyarrow's errors for a damaged file are ValueErrors
            steps = False
        if steps:
            ds = load_steps(path)
            return [m["content"] for r in ds for m in r["messages"]] + list(ds["target"])
        if path.suffix == ".parquet":
            raise ValueError(f"{path}: a Parquet file without step examples (messages, target) or unreadable; give text or `traj split` output")
    raw = path.read_bytes()
    if b"\0" in raw[:65536]:
        raise ValueError(f"{path}: a binary file, not text; give text files or `traj split` output (JSONL/Parquet)")
    try:
        return [raw.decode("utf-8")]
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.start}); give text files or `traj split` output") from None


def _wrap(tokenizer_object):
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer_object,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
        padding_side="left",  # GRPO generation wants left padding
        model_max_length=32768,
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def local_tokenizer(corpus: Iterable[str | Path] = (), vocab_size: int = 2048):
    """A byte-level BPE trained on the bundled prompts (+ corpus files), with ChatML special tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus_texts(corpus), trainer=trainer)
    bpe.add_tokens([AddedToken(t, normalized=False, special=False) for t in FORMAT_TAGS])
    return _wrap(bpe)


def qwen_tiktoken_path() -> Path:
    """Where pip put qwen-agent's copy of the Qwen2 vocabulary (without importing qwen_agent)."""
    spec = importlib.util.find_spec("qwen_agent")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra("qwen_agent", "the qwen vocabulary")
    path = Path(next(iter(spec.submodule_search_locations))) / "utils" / "qwen.tiktoken"
    if not path.is_file():
        raise SwesrlError(f"qwen-agent is installed but {path} is missing: pip install --no-deps --force-reinstall qwen-agent")
    return path


def qwen_tokenizer():
    """Qwen2.5's tokenizer rebuilt from qwen.tiktoken: same ids for text and the three ChatML tokens."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class _Converter(TikTokenConverter):
        # The `tiktoken` package is not needed for this file format: base64 token, space, rank.
        @staticmethod
        def load_tiktoken_bpe(path: str) -> dict[bytes, int]:
            ranks = {}
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                if line:
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
            return ranks

    converter = _Converter(vocab_file=str(qwen_tiktoken_path()), pattern=QWEN_PATTERN, extra_special_tokens=list(SPECIAL_TOKENS))
    tok = _wrap(converter.converted())
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    if ids != QWEN_SPECIAL_IDS:
        raise RuntimeError(f"qwen.tiktoken gave special-token ids {ids}, expected {QWEN_SPECIAL_IDS}")
    return tok


def init_tiny_model(
    out_dir: str | Path,
    vocab: str = "local",
    corpus: Iterable[str | Path] = (),
    *,
    seed: int = 0,
    preset: str = "tiny",
    **sizes,
) -> Path:
    """Write a random-initialized Qwen2ForCausalLM + tokenizer to ``out_dir``; returns the path.

    ``sizes`` override Qwen2Config fields of the preset (e.g. ``hidden_size=128``).
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    if vocab not in ("local", "qwen"):
        raise ValueError(f"vocab must be 'local' or 'qwen', got {vocab!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    tok = local_tokenizer(corpus) if vocab == "local" else qwen_tokenizer()
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tok) if vocab == "local" else QWEN_VOCAB_SIZE,
        tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
        rms_norm_eps=1e-6,
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        **{**PRESETS[preset], **sizes},
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad, bos_token_id=pad)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
