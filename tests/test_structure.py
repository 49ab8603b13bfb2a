"""The package's shape: the pure modules import without torch, and no module outgrows
a reader (STYLE.md: a few hundred lines at most)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "trl_rrm"

# Algorithms and text handling: no model, so no torch (a judge server's client, the CLI's
# validation and the tournaments stay importable in a process without it).
PURE = [
    "trl_rrm.formats", "trl_rrm.parsing", "trl_rrm.thinking", "trl_rrm.judges.hf.prefix_plan", "trl_rrm.judges.votes",
    "trl_rrm.judges.requests", "trl_rrm.judges.config", "trl_rrm.judges.protocol", "trl_rrm.judges.presenting",
    "trl_rrm.judges.engine", "trl_rrm.tournaments", "trl_rrm.hacking", "trl_rrm.inputs", "trl_rrm.labeling.config",
    "trl_rrm.tasks.constraints", "trl_rrm.tasks.sums", "trl_rrm.reward", "trl_rrm.precision", "trl_rrm.floor",
    "trl_rrm.seeds", "trl_rrm.special_tokens", "trl_rrm.recipe_results", "trl_rrm.weights_digest",
]  # fmt: skip

_BLOCK_TORCH = """
import importlib, sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is absent in this test")
sys.meta_path.insert(0, Blocked())
for module in sys.argv[1:]:
    importlib.import_module(module)
"""


def test_pure_modules_import_with_torch_absent():
    result = subprocess.run([sys.executable, "-c", _BLOCK_TORCH, *PURE], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


@pytest.mark.parametrize("path", sorted((PACKAGE.parent / "recipes" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_recipe_configs_use_current_transformers_names(path):
    # `gradient_checkpointing*` is `activation_checkpointing*` since transformers 5.x (removed in v6)
    keys = [line.split(":")[0].strip() for line in path.read_text().splitlines() if ":" in line]
    assert not [k for k in keys if k.startswith("gradient_checkpointing")]


def _from_imports(path: Path):
    """(node, absolute module) of every ``from ... import`` in ``path``, relative ones resolved."""
    import ast

    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]  # the module's package
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(package)[: len(package) - node.level + 1] if node.level else []
            yield node, ".".join(base + ([node.module] if node.module else []))


def test_every_relative_import_resolves():
    # lazy imports inside functions break silently when a module moves (tasks/demo.py did)
    import importlib.util

    missing = []
    for path in PACKAGE.rglob("*.py"):
        for node, name in _from_imports(path):
            if node.level and importlib.util.find_spec(name) is None:
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")
    assert not missing


def test_nothing_in_the_core_imports_the_toy_tasks():
    """Issue 25 item 3: ``trl_rrm.tasks`` (toy tasks for recipes, tests and built-in sets)
    is optional; the built-in sets reach the core through entry points. Only the CLI's
    ``demo`` command (an application of them) imports it."""
    import ast

    found = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[1] == "tasks" or parts == ("trl_rrm", "cli"):
            continue
        imports = [(node, [name] + [f"{name}.{a.name}" for a in node.names]) for node, name in _from_imports(path)]
        imports += [(node, [a.name for a in node.names]) for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.Import)]  # fmt: skip
        for node, names in imports:
            found += [f"{path.name}:{node.lineno}" for n in names if n == "trl_rrm.tasks" or n.startswith("trl_rrm.tasks.")]
    assert not found
    code = "import sys, trl_rrm.inputs as i; rows = i.builtin_rows('builtin:pairs', 2); assert len(rows) == 2; print(sorted(i.builtin_sets()))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['best_of_n', 'constraints', 'listwise', 'pairs']"


def test_one_default_tournament_for_the_reward():
    """Issue 25 item 5: the reward's tournament default was circular in RRMReward and
    round robin in grpo_rrm's config; the docs called knockout the default."""
    import inspect
    import sys
    from pathlib import Path

    from trl_rrm import RRMReward
    from trl_rrm.labeling.config import LabelingConfig
    from trl_rrm.tournaments.registry import DEFAULT_LABELING_TOURNAMENT, DEFAULT_TOURNAMENT, TOURNAMENTS

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo / "recipes"))
    try:
        from grpo_rrm import RRMGRPOConfig
    finally:
        sys.path.remove(str(repo / "recipes"))
    from trl_rrm.judges import GenerativeJudge, GenerativeJudgeConfig

    # not named: the default for a pairwise judge, "pointwise" for a pointwise one, in both entry points
    assert inspect.signature(RRMReward).parameters["tournament"].default is None
    pairwise, pointwise = (GenerativeJudge(GenerativeJudgeConfig(format=f)) for f in ("rrm", "pointwise"))
    assert RRMReward(pairwise).tournament.name == DEFAULT_TOURNAMENT
    assert RRMReward(pointwise).tournament.name == "pointwise"
    assert LabelingConfig().tournament_for(pointwise=False).name == DEFAULT_LABELING_TOURNAMENT
    assert LabelingConfig().tournament_for(pointwise=True).name == "pointwise"
    assert RRMGRPOConfig.__dataclass_fields__["tournament"].default is None  # RRMReward resolves it
    help_text = LabelingConfig.__dataclass_fields__["tournament"].metadata["help"]
    assert all(name in help_text for name in TOURNAMENTS)
    table = (repo / "docs" / "tournaments.md").read_text()
    assert f"`{DEFAULT_TOURNAMENT}` (the reward's default)" in table and "(default)" not in table


def test_the_judge_flags_file_is_generated_from_the_configs():
    """``trl_rrm/judges/flags/generated.py`` is what ``python -m trl_rrm.judges.flags.arguments``
    writes from the configs: a config option added or changed without regenerating fails."""
    from pathlib import Path

    from trl_rrm.judges.flags import arguments, generated

    assert Path(generated.__file__).read_text() == arguments.flags_source(), "run: python -m trl_rrm.judges.flags.arguments"
    fields = [f.name for f in __import__("dataclasses").fields(arguments.JudgeArguments)]
    assert fields == [name for name, _, _ in arguments._fields()] and "judge_model" in fields
