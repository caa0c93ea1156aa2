"""tests/balance.py: the split of the suite between sessions by the files' recorded times."""

from tests.balance import split, weights


def test_the_heaviest_files_go_to_the_lightest_session(tmp_path):
    times = tmp_path / "file-times.txt"
    times.write_text("456.0 tests/crawl.py\n300.0 tests/a.py\n200.0 tests/b.py\n100.0 tests/c.py\n")
    files = ["tests/a.py", "tests/b.py", "tests/c.py", "tests/crawl.py"]

    first, second = split(files, 2, times)

    # 456 | 300 → 456 | 300+200 → 456+100 | 500: 556 against 500, where every other file by
    # name would give a+c = 400 against b+crawl = 656.
    assert first == ["tests/c.py", "tests/crawl.py"]
    assert second == ["tests/a.py", "tests/b.py"]


def test_a_file_without_a_recorded_time_weighs_the_median(tmp_path):
    times = tmp_path / "file-times.txt"
    times.write_text("10.0 tests/a.py\n30.0 tests/b.py\n50.0 tests/c.py\n")

    assert weights(["tests/a.py", "tests/new.py"], times) == {
        "tests/a.py": 10.0,
        "tests/new.py": 30.0,
    }
    # c 50 | b 30 → c 50 | b + new 60 → c + a 60 | b + new 60.
    parts = split(["tests/a.py", "tests/b.py", "tests/c.py", "tests/new.py"], 2, times)
    assert parts == [["tests/a.py", "tests/c.py"], ["tests/b.py", "tests/new.py"]]


def test_without_recorded_times_the_files_are_dealt_out_evenly(tmp_path):
    files = [f"tests/{name}.py" for name in "abcde"]

    parts = split(files, 2, tmp_path / "missing.txt")

    assert [len(part) for part in parts] == [3, 2]
    assert sorted(path for part in parts for path in part) == files
