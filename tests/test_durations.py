"""The order in which xdist's workers take the test files (tests/durations.py, ADR 0037)."""

from __future__ import annotations

from types import SimpleNamespace

from tests import durations


def test_the_longest_files_come_first_and_each_file_keeps_its_tests_in_order():
    ids = ["a.py::one", "a.py::two", "b.py::one", "c.py::one", "c.py::two", "d.py::one"]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    durations.longest_first(items, {"c.py": 90.0, "b.py": 30.0})
    assert [i.nodeid for i in items] == ["c.py::one", "c.py::two", "b.py::one", "a.py::one", "a.py::two", "d.py::one"]


def test_the_list_is_written_longest_first_and_read_back(tmp_path):
    path = tmp_path / "durations.txt"
    assert durations.read(path) == {}
    durations.write({"tests/b.py": 2.04, "tests/a.py": 12.5}, path)
    assert path.read_text(encoding="utf-8").splitlines()[1:] == ["    12.5 tests/a.py", "     2.0 tests/b.py"]
    assert durations.read(path) == {"tests/a.py": 12.5, "tests/b.py": 2.0}


def test_the_recorded_list_names_files_that_exist():
    missing = [name for name in durations.read() if not (durations.DURATIONS.parents[1] / name).is_file()]
    assert missing == []
