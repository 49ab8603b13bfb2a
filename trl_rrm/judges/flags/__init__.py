"""The judge options as ``judge_*`` flags: ``generated`` (the fields, generated from the
configs by ``python -m trl_rrm.judges.flags.arguments``) and ``arguments``
(``JudgeArguments``: what they do)."""
