"""Toy tasks generated in code, for the proof, the demo, the built-in evaluation sets and tests.

Not part of the judging product: nothing here is needed to judge, reward or label. Each
task is seeded and verifiable by code, so everything that uses it runs offline and its
results can be checked without a judge.

- ``arithmetic``: two-digit arithmetic preference pairs (a right result vs a near miss).
- ``sums``: small sums a policy answers, with a held-out question split (the hard case
  of the proof: a small judge cannot verify a sum it cannot compute).
- ``constraints``: instruction constraints (IFEval-style) checked by code, with held-out
  topic and type splits, judge pairs and traces: the task of the proof.
- ``eval_sets``: the ``builtin:*`` sets of ``trl-rrm eval``.
- ``demo``: ``trl-rrm demo``, the untrained embedded judge on arithmetic pairs.
"""
