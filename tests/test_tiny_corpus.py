"""init-tiny --corpus: step examples are read as their text (JSONL or Parquet); other binaries are refused."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("datasets")
pytest.importorskip("tokenizers")

from swesrl.training.tiny_model import _corpus_texts  # noqa: E402

MESSAGES = [{"role": "system", "content": "You fix bugs."}, {"role": "user", "content": "zebraquux is broken"}]


def test_step_examples_give_their_text_whatever_the_file_format(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = {"messages": MESSAGES, "target": "<think>\nlook\n</think>\n<function=bash>"}
    (tmp_path / "steps.jsonl").write_text(json.dumps(row) + "\n")
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "steps.parquet")
    for name in ("steps.jsonl", "steps.parquet"):
        texts = _corpus_texts([tmp_path / name])
        assert "zebraquux is broken" in texts
        # the target's words are there; its format tags are not (they are whole tokens of their own)
        assert any("look" in t for t in texts) and not any("<function=" in t for t in texts)
        assert not any('"role"' in t or "PAR1" in t for t in texts)  # neither JSON syntax nor Parquet bytes


def test_binaries_and_non_text_are_refused_by_name(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    pq.write_table(pa.Table.from_pylist([{"x": 1}]), tmp_path / "other.parquet")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match=r"blob.bin: a binary file"):
        _corpus_texts([tmp_path / "blob.bin"])
    with pytest.raises(ValueError, match=r"other.parquet: a Parquet file without step examples"):
        _corpus_texts([tmp_path / "other.parquet"])
    with pytest.raises(ValueError, match=r"latin1.txt: not UTF-8 text \(byte 3\)"):
        _corpus_texts([tmp_path / "latin1.txt"])
    (tmp_path / "notes.md").write_text("plain text")
    assert "plain text" in _corpus_texts([tmp_path / "notes.md"])
