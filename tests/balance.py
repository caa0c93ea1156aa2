"""Split test files into sessions of about equal time: `python tests/balance.py K FILE...`.

Prints the files of each of K sessions, one session per line, separated by spaces. Each file
weighs its seconds in tests/file-times.txt ("seconds path" lines, written by a session run with
PYTEST_FILE_TIMES=path, see tests/conftest.py); a file not listed there weighs the median. The
heaviest file goes first to the lightest session (longest processing time first), so the
sessions end close together however files are added, where splitting every other file in name
order left both page crawls in one session, 3 minutes longer than the other.
"""

import statistics
import sys
from pathlib import Path

TIMES = Path(__file__).with_name("file-times.txt")


def weights(files: list[str], times: Path = TIMES) -> dict[str, float]:
    known: dict[str, float] = {}
    if times.exists():
        for line in times.read_text(encoding="utf-8").splitlines():
            seconds, _, path = line.strip().partition(" ")
            if path:
                known[path] = float(seconds)
    default = statistics.median(known.values()) if known else 1.0
    return {path: known.get(path, default) for path in files}


def split(files: list[str], sessions: int, times: Path = TIMES) -> list[list[str]]:
    weight = weights(files, times)
    parts: list[list[str]] = [[] for _ in range(sessions)]
    loads = [0.0] * sessions
    for path in sorted(files, key=lambda p: (-weight[p], p)):
        lightest = loads.index(min(loads))
        parts[lightest].append(path)
        loads[lightest] += weight[path]
    return [sorted(part) for part in parts]


if __name__ == "__main__":
    for part in split(sys.argv[2:], int(sys.argv[1])):
        print(" ".join(part))
