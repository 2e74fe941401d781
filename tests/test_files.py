"""files.atomic_path: a file is replaced whole or not at all."""

import os

import pytest

from chromatic_charm.files import atomic_path, write_text_atomic


def test_a_finished_write_replaces_the_file(tmp_path):
    path = write_text_atomic(tmp_path / "deep" / "report.json", "new")
    assert path.read_text() == "new" and os.listdir(path.parent) == ["report.json"]


def test_an_interrupted_write_leaves_the_old_file_and_no_debris(tmp_path):
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "generator.onnx"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            assert tmp.parent == path.parent and str(os.getpid()) in tmp.name
            raise KeyboardInterrupt
    assert path.read_text() == "old" and os.listdir(path.parent) == ["generator.onnx"]
