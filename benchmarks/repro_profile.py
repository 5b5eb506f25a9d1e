"""Where the default run's time goes: `dvc repro -f` with each stage's wall time, slowest
first, and the share of the whole. Stages run one after another, so a stage's time is from
its "Running stage" line to the next one's (or to the end).

    python -m benchmarks.repro_profile            # in the project root, on a quiet machine

Prints a markdown table (the one in the README's Quick start).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

STAGE = re.compile(r"Running stage '([^']+)'")


def stage_times(command: list[str]) -> tuple[list[tuple[str, float]], float]:
    """[(stage, seconds)] in the order they ran, and the whole command's seconds; fails with the
    command's output if it fails."""
    started = time.monotonic()
    marks: list[tuple[str, float]] = []
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        for line in run.stdout:
            lines.append(line)
            found = STAGE.search(line)
            if found:
                marks.append((found.group(1), time.monotonic()))
    total = time.monotonic() - started
    if run.returncode:
        sys.exit("".join(lines[-40:]) + f"\n{' '.join(command)} failed")
    ends = [t for _, t in marks[1:]] + [started + total]
    return [(name, end - start) for (name, start), end in zip(marks, ends, strict=True)], total


def table(times: list[tuple[str, float]], total: float) -> str:
    rows = ["| stage | seconds | share |", "|---|---|---|"]
    rows += [f"| `{name}` | {seconds:.0f} | {seconds / total:.0%} |"
             for name, seconds in sorted(times, key=lambda t: -t[1])]
    return "\n".join(rows + [f"| all (`dvc repro -f`) | {total:.0f} | 100% |"])


if __name__ == "__main__":
    print(table(*stage_times(["dvc", "repro", "-f"])))
