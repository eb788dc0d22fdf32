"""Types of the optional C extension built from _seqmatch.c (difflib's ratio, exactly)."""

from collections.abc import Sequence

API: int  # SEQMATCH_API: seqmatch.py skips a build whose API differs from its own
def ratio(a: str, b: str, autojunk: bool = True) -> float: ...
def ratios(seqs: Sequence[str], b: str, autojunk: bool = True) -> list[float]: ...
