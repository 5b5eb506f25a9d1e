"""The two READMEs link each other and give the same commands."""

import re

from conftest import ROOT

FENCE = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def _commands(name: str) -> list[str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    lines = [line.split("  #")[0].rstrip() for block in FENCE.findall(text)
             for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_readmes_link_each_other():
    assert "README.zh-CN.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(README.md)" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def test_chinese_readme_has_the_same_commands():
    english = _commands("README.md")
    assert len(english) > 10
    assert _commands("README.zh-CN.md") == english


def _first_command_after(text: str, heading: str) -> str:
    block = FENCE.search(text, text.index(heading))
    return block.group(1).strip()


def test_ci_runs_the_readme_commands_as_written():
    """A new user copies the README's two commands; CI must run exactly those, so a
    command that fails for the user (plain `pytest` not finding project modules, say)
    fails CI too."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for heading in ("## Quick start", "## Tests"):
        command = _first_command_after(readme, heading)
        assert "\n" not in command, f"{heading}: one command, copied verbatim"
        assert command in ci_lines, f".ci/run does not run the README's {heading!r} command"
