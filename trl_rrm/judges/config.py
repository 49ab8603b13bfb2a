"""How a judge judges: the options every backend shares, declared once.

Two groups, each a dataclass whose fields carry one-line help (``metadata["help"]``), so
the CLI and the recipes build their flags from them (``trl_rrm.judges.flags.arguments``):

- ``JudgingConfig``: what the judge does: the format, how a verdict is read, the
  thinking budget, sampling, orders, votes, the defence of untrusted text.
- ``SpeedConfig``: switches that only change how fast (the same verdicts for greedy or
  ``direct`` judging; see each field). Backends add their own (``HFSpeedConfig``).

A backend's config combines them with its own loading or server fields
(``HFJudgeConfig``, ``OpenAIJudgeConfig``); fields stay flat, so YAML keys and flags have
the same names as the Python arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ..formats import FORMATS, PAIRWISE_FORMATS, POINTWISE_FORMATS, JudgeFormat, get_format
from ..thinking import STRIP_THINK_MODES, normalize_mode

VerdictMode = Literal["generate", "forced", "likelihood", "direct"]
VERDICT_MODES = ("generate", "forced", "likelihood", "direct")
# What each verdict mode does: (writes an analysis, forces a missing verdict, scores the labels)
MODE_STEPS = {
    "generate": (True, False, False),
    "forced": (True, True, False),
    "likelihood": (True, False, True),
    "direct": (False, False, True),
}


def positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def _help(text: str, **extra: Any) -> Any:
    return {"help": text, **extra}


def post_init_chain(instance: Any, cls: type) -> None:
    """Calls the next ``__post_init__`` in the MRO after ``cls`` (config groups combine)."""
    following = getattr(super(cls, instance), "__post_init__", None)
    if following is not None:
        following()


@dataclass
class JudgingConfig:
    """What a generative judge does; shared by every backend.

    Verdict modes (``verdict``):
    ``"generate"``: parse the judge's own verdict only (a judgment without one is a failure).
    ``"forced"``: parse; where there is no verdict (budget spent, or never written), close
    the thinking, append the verdict prefix and generate ``forced_answer_tokens`` greedily.
    ``"likelihood"``: generate the analysis, then always score the verdict labels after
    it and keep p(first better) in ``Verdict.p_first`` (pointwise: P(yes), or the expected
    score, in ``Grade.value``).
    ``"direct"``: no analysis: one forward pass per match and order scores the labels right
    after the prompt; the cheapest judge.

    Pointwise formats show one response: ``both_orders`` and ``order`` do not apply.
    """

    format: str = field(default="rrm", metadata=_help("judge prompt format", choices=tuple(FORMATS)))
    verdict: str = field(
        default="generate",
        metadata=_help("how a verdict is read: generate, forced, likelihood, direct", choices=VERDICT_MODES),
    )
    max_new_tokens: int = field(default=1024, metadata=_help("thinking budget per judgment (tokens)"))
    temperature: float = field(default=0.6, metadata=_help("judge sampling temperature; 0 decodes greedily"))
    top_p: float = field(default=1.0, metadata=_help("judge nucleus sampling"))
    num_votes: int = field(default=1, metadata=_help("judgments per presentation order; the majority decides"))
    both_orders: bool = field(
        default=False, metadata=_help("judge every pair in both orders; disagreement is a tie (pairwise formats)")
    )
    order: str = field(
        default="random",
        metadata=_help("with one order: 'random' (seeded by content) or 'fixed' (as given)", choices=("random", "fixed")),
    )
    seed: int = field(default=0, metadata=_help("seeds presentation orders, listwise shuffles and sampling"))
    forced_answer_tokens: int = field(default=8, metadata=_help("budget of a forced verdict (verdict=forced)"))
    system_prompt: str | None = field(default=None, metadata=_help("your own system prompt (None: the format's)"))
    user_template: str | None = field(default=None, metadata=_help("your own user-turn template, with the placeholders"))
    strip_think: str = field(
        default="leading",
        metadata=_help("remove a response's reasoning: leading, template, none", choices=STRIP_THINK_MODES),
    )
    escape_untrusted: bool = field(
        default=True,
        metadata=_help("neutralise control tokens and the format's section lines/markers in queries and responses"),
    )
    max_response_tokens: int | None = field(
        default=None,
        metadata=_help("cut each response to this many tokens (marked in the prompt); None: only what the context needs"),
    )

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format={self.format!r} is unknown; expected one of {tuple(FORMATS)}")
        positive_int("max_new_tokens", self.max_new_tokens)
        positive_int("num_votes", self.num_votes)
        positive_int("forced_answer_tokens", self.forced_answer_tokens)
        if self.max_response_tokens is not None:
            positive_int("max_response_tokens", self.max_response_tokens)
        if not self.temperature >= 0:
            raise ValueError(f"temperature={self.temperature!r} must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p!r} must be in (0, 1]")
        if self.num_votes > 1 and self.temperature == 0:
            raise ValueError(f"num_votes={self.num_votes} needs sampling, but temperature=0 decodes greedily")
        if self.order not in ("random", "fixed"):
            raise ValueError(f"order={self.order!r} must be 'random' or 'fixed'")
        if self.verdict not in VERDICT_MODES:
            raise ValueError(f"verdict={self.verdict!r} is unknown; expected one of {VERDICT_MODES}")
        if self.verdict in ("likelihood", "direct") and self.format not in PAIRWISE_FORMATS + POINTWISE_FORMATS:
            raise ValueError(f"verdict={self.verdict!r} scores verdict labels; format={self.format!r} is listwise")
        self.strip_think = normalize_mode(self.strip_think)
        post_init_chain(self, JudgingConfig)

    def build_format(self) -> JudgeFormat:
        kwargs = {} if self.system_prompt is None else {"system_prompt": self.system_prompt}
        return get_format(self.format, user_template=self.user_template, strip_think=self.strip_think, **kwargs)


@dataclass
class SpeedConfig:
    """Switches that change only how fast a judge runs, never which verdict a greedy or
    ``direct`` judge gives (exceptions named per field)."""

    cache_identical: bool = field(
        default=True,
        metadata=_help(
            "judge identical requests of one call once (duplicate completions); exact when greedy or direct"
        ),
    )
    stop_at_verdict: bool = field(
        default=False,
        metadata=_help("end a judgment at its first complete verdict (differs if a judge writes a second one)"),
    )
    adaptive_votes: bool = field(
        default=False,
        metadata=_help("with num_votes > 2, sample a strict majority first and the rest only where they disagree"),
    )

    def __post_init__(self) -> None:
        post_init_chain(self, SpeedConfig)


@dataclass
class GenerativeJudgeConfig(SpeedConfig, JudgingConfig):
    """The config of a ``GenerativeJudge``: ``JudgingConfig`` + ``SpeedConfig``. Backends
    extend it with their loading or server fields (``HFJudgeConfig``, ``OpenAIJudgeConfig``)."""


def field_names(cls: type) -> list[str]:
    """The field names of a config dataclass, in declaration order."""
    return [f.name for f in fields(cls)]
