"""Every ```python block of docs/*.md runs: a page's blocks in order, in one namespace.

A block fenced ```python no-run is shown, not run: it loads a hub model, needs a GPU or a
judge server. It must still compile. Runnable blocks use tiny models built in code and
the deterministic judges of ``trl_rrm.testing``: nothing is downloaded. Each page runs in
its own temporary working directory, so examples write relative paths freely.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
NO_RUN = "no-run"
# An opening fence ```python[ info] at the start of a line, its body, the closing fence.
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(page: Path) -> list[tuple[str, int, str]]:
    """``(info, first line number, code)`` of every python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(m.group(1).strip(), text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text)]


def compiled(page: Path, line: int, code: str):
    """The block compiled so that a traceback names the page and its line."""
    return compile("\n" * (line - 1) + code, str(page), "exec")


def test_docs_exist():
    assert {p.name for p in PAGES} >= {"judges.md", "reward.md", "labeling.md", "evaluation.md", "serving.md",
                                       "security.md", "performance.md", "recipes.md", "tournaments.md"}  # fmt: skip


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_fences_are_known_and_compile(page):
    for info, line, code in python_blocks(page):
        assert info in ("", NO_RUN), f"{page.name}:{line}: unknown fence info {info!r} (use ```python or ```python {NO_RUN})"
        compiled(page, line, code)  # a no-run block is at least valid Python


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    blocks = [(line, code) for info, line, code in python_blocks(page) if info != NO_RUN]
    if not blocks:
        pytest.skip(f"{page.name} has no runnable python block")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    for line, code in blocks:
        exec(compiled(page, line, code), namespace)


def test_the_vllm_command_in_serving_md_is_the_one_the_server_tier_runs(monkeypatch):
    """docs/serving.md's CPU command (its flags and environment) is what
    ``tests/vllm_server.py`` starts for the ``--run-server`` tier."""
    import shlex

    from vllm_server import VLLMServer

    text = (DOCS / "serving.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M) if ".venv-vllm/bin/vllm serve" in b)
    words = shlex.split(block.replace("\\\n", " "))
    env = dict(w.split("=", 1) for w in words[: words.index(".venv-vllm/bin/vllm")])
    flags = words[words.index("serve") + 2 :]  # after the model folder
    for name in env:  # the defaults, not what this shell sets
        monkeypatch.delenv(name, raising=False)
    server = VLLMServer("MODEL", port=8000)
    command = server.command()
    expected = command[command.index("serve") + 2 :]
    documented = [w.replace("$PWD/", str(DOCS.parent) + "/") for w in flags]
    assert documented == expected
    assert {k: v for k, v in server.environment().items() if k in env} == env
