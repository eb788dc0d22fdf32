"""Text similarity for the SRL reward: ``difflib.SequenceMatcher(None, a, b).ratio()``, exactly, fast.

The SRL paper's reward is difflib's ratio, and GRPO scores G rollouts per expert step, so the
reward sits on the training loop's hot path. rapidfuzz's Indel ratio (2*LCS/T, ~130x difflib) is a
different quantity: difflib is not an LCS, its greedy longest-block recursion and its "autojunk"
rule for strings of 200+ characters gave other values on 74% of real step pairs (bench/reward.py).
So the fast path is an exact port instead (35x per pair, 53x with the expert indexed once):

- ``c``: training/_seqmatch.c, difflib's algorithm in C step by step (same b2j index with the
  autojunk popularity rule, same tie-breaking, same extension loops), bit-identical by test on
  every ordered pair of real expert actions and on generated strings. It is an optional extension
  (setup.py, ``optional=True``): an install without a compiler simply lacks it.
- ``cydifflib``: a compiled difflib with identical values, the fallback when ``c`` is not built.
- ``difflib``: the reference, always available.

Every backend takes many ``a`` against one ``b`` (the expert action), so ``b`` is indexed once
per group of rollouts; difflib keeps that index (``b2j``) across ``set_seq1`` calls.

``autojunk`` is difflib's flag, on by default as in the paper ("difflib's SequenceMatcher"). It treats
characters that fill more than 1% of a 200+ character expert action as junk, so long actions score
erratically: a 491-character ``str_replace`` with 4 typos scores 0.25 with it and 0.99 without
(BENCHMARKS.md, "Reward"). Every backend is exact in both modes.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from enum import Enum
from types import ModuleType

RatiosFn = Callable[[Sequence[str], str, bool], list[float]]


def _matcher_ratios(module: ModuleType) -> RatiosFn:
    def ratios(seqs: Sequence[str], b: str, autojunk: bool = True) -> list[float]:
        m = module.SequenceMatcher(None, "", b, autojunk)
        out = []
        for a in seqs:
            m.set_seq1(a)
            out.append(m.ratio())
        return out

    return ratios


BACKENDS: dict[str, RatiosFn] = {"difflib": _matcher_ratios(difflib)}
try:
    import cydifflib

    BACKENDS["cydifflib"] = _matcher_ratios(cydifflib)
except ImportError:
    pass
_C_API = 2  # training/_seqmatch.c's SEQMATCH_API: a stale build in a checkout is skipped, not called
try:
    from . import _seqmatch

    if getattr(_seqmatch, "API", 0) == _C_API:
        BACKENDS["c"] = _seqmatch.ratios
    else:
        import logging

        logging.getLogger(__name__).warning(
            "swesrl.training._seqmatch is a stale build (rebuild: pip install -e . or "
            "python setup.py build_ext --inplace); using the slower exact backend"
        )
except ImportError:
    pass

FAST_BACKEND = next(name for name in ("c", "cydifflib", "difflib") if name in BACKENDS)
"""The backend that ``Similarity.FAST`` uses in this install (all give difflib's values)."""


class Similarity(str, Enum):
    """Which implementation computes the ratio: the reference, or the fastest exact one here."""

    DIFFLIB = "difflib"
    FAST = "fast"


def _backend(method: Similarity | str) -> RatiosFn:
    method = Similarity(method)
    return BACKENDS[FAST_BACKEND if method is Similarity.FAST else "difflib"]


def similarities(
    seqs: Sequence[str], b: str, method: Similarity | str = Similarity.DIFFLIB, autojunk: bool = True
) -> list[float]:
    """ratio(a, b) for every a in seqs, indexing b once."""
    return _backend(method)(seqs, b, autojunk)


def similarity(a: str, b: str, method: Similarity | str = Similarity.DIFFLIB, autojunk: bool = True) -> float:
    """``difflib.SequenceMatcher(None, a, b, autojunk).ratio()`` (asymmetric: b is the indexed side)."""
    return _backend(method)([a], b, autojunk)[0]
