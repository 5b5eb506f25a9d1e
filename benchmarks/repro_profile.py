"""Where the default run's time goes: `dvc repro -f` with each stage's wall time, slowest
first, and the share of the whole. Stages run one after another, so a stage's time is from
its "Running stage" line to the next one's (or to the end); with --experiment, the same for one of
configs/experiments/ (its `dvc exp run`, every stage forced). With --suite: where the test
suite's time goes instead, `pytest` (as the README runs it) with its slowest fixture setups,
mostly the whole-DAG runs that modules share.

    python -m benchmarks.repro_profile            # in the project root, on a quiet machine
    python -m benchmarks.repro_profile --suite
    python -m benchmarks.repro_profile --experiment smollm2-glaive-en   # configs/experiments/<name>.sh -f

Prints a markdown table (the ones in the README's Quick start and Tests).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

STAGE = re.compile(r"Running stage '([^']+)'")
SETUP = re.compile(r"^([0-9.]+)s setup\s+(tests/[^:]+)::")  # a --durations line
SUITE_DONE = re.compile(r"in ([0-9.]+)s")  # "... passed ... in 256.85s (0:04:16)"


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


def table(times: list[tuple[str, float]], total: float, command: str = "dvc repro -f") -> str:
    rows = ["| stage | seconds | share |", "|---|---|---|"]
    rows += [f"| `{name}` | {seconds:.0f} | {seconds / total:.0%} |"
             for name, seconds in sorted(times, key=lambda t: -t[1])]
    return "\n".join(rows + [f"| all (`{command}`) | {total:.0f} | 100% |"])


def slowest_setups(pytest_output: str) -> tuple[list[tuple[str, float]], float]:
    """[(test module, seconds of its slowest setup)] from `pytest --durations` output, slowest
    first, and the suite's wall time."""
    setups: dict[str, float] = {}
    for line in pytest_output.splitlines():
        found = SETUP.match(line.strip())
        if found:
            module = found.group(2)
            setups[module] = max(setups.get(module, 0.0), float(found.group(1)))
    total = float(SUITE_DONE.findall(pytest_output)[-1])
    return sorted(setups.items(), key=lambda item: -item[1]), total


def suite_table(setups: list[tuple[str, float]], total: float) -> str:
    rows = ["| slowest setup of | seconds |", "|---|---|"]
    rows += [f"| `{module}` | {seconds:.0f} |" for module, seconds in setups]
    return "\n".join(rows + [f"| whole suite (`pytest`, wall) | {total:.0f} |"])


def main() -> None:
    if "--suite" in sys.argv[1:]:
        run = subprocess.run([sys.executable, "-m", "pytest", "--durations=40", "--durations-min=5"],
                             capture_output=True, text=True)
        if run.returncode:
            sys.exit(run.stdout[-4000:] + "\npytest failed")
        print(suite_table(*slowest_setups(run.stdout)))
    elif "--experiment" in sys.argv[1:]:
        script = f"configs/experiments/{sys.argv[sys.argv.index('--experiment') + 1]}.sh"
        print(table(*stage_times(["sh", script, "-f"]), command=f"sh {script} -f"))
    else:
        print(table(*stage_times(["dvc", "repro", "-f"])))


if __name__ == "__main__":
    main()
