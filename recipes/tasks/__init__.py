"""Toy tasks generated in code, owned by the recipes: the proof's tasks, the built-in
evaluation sets, the demo's pairs. Not part of the library (``pip install trl-rrm`` ships
none of it); a checkout has it beside ``trl_rrm``.

Each task is seeded and verifiable by code, so everything that uses it runs offline and
its results can be checked without a judge. ``registry`` is the one place a
``builtin:<name>`` resolves (``get_task``): the recipes import it directly (a recipe
script sees ``tasks`` beside it), the library through ``trl_rrm.inputs.builtin_tasks``,
which finds this folder in the checkout.

- ``registry``: ``TASKS`` by name; a ``Task`` gives its evaluation rows, training prompts,
  ground-truth reward and held-out score.
- ``arithmetic``: two-digit arithmetic preference pairs (a right result vs a near miss).
- ``sums``: small sums a policy answers, with a held-out question split (the hard case
  of the proof: a small judge cannot verify a sum it cannot compute).
- ``constraints``: instruction constraints (IFEval-style) checked by code, with held-out
  topic and type splits, judge pairs and traces: the task of the proof.
- ``eval_sets``: the evaluation sets of ``trl-rrm eval`` (``builtin:pairs``, ...).
"""

from .registry import CHECKED_TASKS, EVALUATION_SETS, TASKS, TRAINING_TASKS, Task, get_task

__all__ = ["CHECKED_TASKS", "EVALUATION_SETS", "TASKS", "TRAINING_TASKS", "Task", "get_task"]
