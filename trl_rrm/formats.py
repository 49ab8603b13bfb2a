"""Judge prompt formats: how a match is shown to a judge and how its answer is read.

Three formats, each the wire format of a published judge family, in our own words:

- ``rrm``: pairwise (Reward Reasoning Models). ``## Query``, ``## Assistant responses``
  with ``### Assistant 1`` / ``### Assistant 2``, ``## Analysis``; verdict
  ``\\boxed{Assistant 1}`` or ``\\boxed{Assistant 2}``.
- ``rm_r1`` / ``rm_r1_distilled``: pairwise Chain-of-Rubrics (RM-R1). Responses framed as
  Chatbot A / Chatbot B; verdict ``<answer>[[A]]</answer>`` or ``<answer>[[B]]</answer>``.
  ``rm_r1`` puts the instructions in a system prompt (the instruct judges);
  ``rm_r1_distilled`` sends one user message (the reasoning-distilled judges).
- ``principle``: listwise and principle-following (RewardAnything). K responses under
  masked names model-1..model-K; answer JSON with ``scores`` and ``best-to-worst``.

Users whose judge was trained on other wording pass their own ``system_prompt`` /
``user_template``. Templates use the placeholders ``{query}``, ``{response_1}``,
``{response_2}`` (pairwise), ``{responses}`` (listwise) and ``{principle}``; other braces
(LaTeX, JSON) are left alone. The verdict markers are fixed so that parsing keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .parsing import PAIRWISE_FORMATS, parse_ranking, parse_verdict, strip_think
from .types import Message, Ranking, Text

DEFAULT_PRINCIPLE = (
    "Prefer the response that follows the user's instruction most faithfully and is the most "
    "helpful, correct and honest; for a harmful request, prefer the response that stays safe."
)

# ----------------------------------------------------------------------------- rrm

RRM_SYSTEM_PROMPT = """\
You judge the quality of answers written by AI assistants. You will read a user query and \
two candidate responses, and decide which one serves the user better. Apply these rules:
1. The better response carries out the user's instruction exactly as given; faithfulness to \
the instruction outweighs style.
2. If the query asks for something harmful, the response that stays safe is the better one.
3. The better response gives what was asked for: it neither pads the answer with material \
nobody requested nor leaves part of the request undone.
4. Neither the order in which the responses appear nor their length is a reason to prefer one.
Work through the comparison step by step before you decide."""

RRM_USER_TEMPLATE = """\
## Query

{query}

## Assistant responses

### Assistant 1

{response_1}

### Assistant 2

{response_2}

## Analysis

Analyze the two responses step by step against the rules. Then state your verdict as \
\\boxed{Assistant 1} or \\boxed{Assistant 2}."""

# --------------------------------------------------------------------------- rm_r1

_RM_R1_PROCEDURE = """\
First decide what kind of task the client's question is, and write <type>Chat</type> \
(conversation, advice, writing, safety) or <type>Reasoning</type> (math, code, logic, \
questions with a checkable answer).
- For Chat: write a rubric of weighted criteria for this question inside <rubric>...</rubric>, \
explaining the weights inside <justify>...</justify>, then grade both responses against the \
rubric inside <eval>...</eval>.
- For Reasoning: solve the problem yourself inside <solution>...</solution>, then check both \
responses against your solution inside <eval>...</eval>.
Finally give your verdict: <answer>[[A]]</answer> if Chatbot A's response is better, or \
<answer>[[B]]</answer> if Chatbot B's response is better. Name exactly one chatbot."""

RM_R1_SYSTEM_PROMPT = (
    "You are an impartial evaluator. Compare the responses of two chatbots, Chatbot A and "
    "Chatbot B, to a client's question, and decide which one is better.\n" + _RM_R1_PROCEDURE
)

RM_R1_USER_TEMPLATE = """\
[Client Question]
{query}

[The Start of Chatbot A's Response]
{response_1}
[The End of Chatbot A's Response]

[The Start of Chatbot B's Response]
{response_2}
[The End of Chatbot B's Response]"""

RM_R1_DISTILLED_USER_TEMPLATE = (
    "Please act as an impartial evaluator and decide which of two chatbots, Chatbot A or "
    "Chatbot B, answered the client's question better.\n\n" + RM_R1_USER_TEMPLATE + "\n\n" + _RM_R1_PROCEDURE
)

# ----------------------------------------------------------------------- principle

PRINCIPLE_SYSTEM_PROMPT = """\
You evaluate AI responses against a principle given in natural language. The principle \
decides what counts as a good response; apply it even where it differs from your own taste. \
The responses are anonymous and shown in random order; judge each on its content alone."""

PRINCIPLE_USER_TEMPLATE = """\
## Principle

{principle}

## Query

{query}

## Responses

{responses}

## Your task

Check each response against the principle and think briefly. Then answer with a JSON object \
only, giving every response a score from 1 (worst) to 5 (best) and listing all of them from \
best to worst:
{"scores": {"model-1": 3, "model-2": 5}, "best-to-worst": ["model-2", "model-1"]}"""

_PLACEHOLDER = re.compile(r"\{(query|response_1|response_2|responses|principle)\}")


def _fill(template: str, values: dict[str, str]) -> str:
    # One pass, so a response that itself contains "{query}" is never substituted twice.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def render_content(content: object) -> str:
    """Text of a message content: a string, or a list of parts ({"type": "text", ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return "" if content is None else str(content)


def render_text(value: Text, *, drop_think: bool = False) -> str:
    """Renders a prompt or response for the judge to read.

    A string stays as it is. A message list becomes readable text: a single user message
    is its content; a longer history is a transcript with ``[User]``, ``[Assistant]`` and
    ``[System]`` headers, so the judge sees every earlier turn.

    Raises:
        TypeError: ``value`` is neither a string nor a list of role/content dicts.
    """
    if isinstance(value, str):
        return strip_think(value) if drop_think else value
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, dict) and "role" in m for m in value):
        raise TypeError(
            f"expected a string or a list of chat messages with 'role' and 'content', got {value!r:.120}"
        )
    texts = []
    for message in value:
        text = render_content(message.get("content"))
        if drop_think and message["role"] == "assistant":
            text = strip_think(text)
        texts.append(text)
    if len(value) == 1 and value[0]["role"] in ("user", "assistant"):
        return texts[0]
    return "\n\n".join(f"[{m['role'].capitalize()}]\n{t}" for m, t in zip(value, texts))


def _messages(system_prompt: str | None, user: str) -> list[Message]:
    if system_prompt:
        return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]
    return [{"role": "user", "content": user}]


def _check_template(field: str, template: str | None, required: Sequence[str]) -> None:
    if template is None:
        return
    if not isinstance(template, str):
        raise TypeError(f"{field} must be a string, got {type(template).__name__}")
    missing = [p for p in required if "{" + p + "}" not in template]
    if missing:
        raise ValueError(
            f"{field}={template!r:.80} lacks the placeholder(s) "
            + ", ".join("{" + p + "}" for p in missing)
        )


@dataclass(frozen=True)
class PairwiseFormat:
    """A pairwise judge format: renders two responses, parses a 0/1 verdict.

    Attributes:
        name: ``"rrm"``, ``"rm_r1"`` or ``"rm_r1_distilled"``.
        system_prompt: system message, or None to send a single user message.
        user_template: user message with ``{query}``, ``{response_1}``, ``{response_2}``
            (and optionally ``{principle}``).
        verdict_prefix: the text that opens an answer; appended to force a verdict.
        strip_think: remove ``<think>...</think>`` from responses before judging.
        score_prefix: the text after which the two verdict labels are scored.
        labels: the continuations of ``score_prefix`` naming the first-shown and the
            second-shown response (their token log-probabilities give p(first better)).
        verdict_open: where a written verdict starts; a likelihood judgment scores the
            labels in place of the judge's own last verdict.
    """

    name: str
    system_prompt: str | None
    user_template: str
    verdict_prefix: str
    strip_think: bool = True
    score_prefix: str = ""
    labels: tuple[str, str] = ("", "")
    verdict_open: str = ""

    def render(self, prompt: Text, response_1: Text, response_2: Text, principle: str | None = None) -> list[Message]:
        """Chat messages that show ``response_1`` first and ``response_2`` second."""
        values = {
            "query": render_text(prompt),
            "response_1": render_text(response_1, drop_think=self.strip_think),
            "response_2": render_text(response_2, drop_think=self.strip_think),
            "principle": principle or DEFAULT_PRINCIPLE,
        }
        return _messages(self.system_prompt and _fill(self.system_prompt, values), _fill(self.user_template, values))

    def parse(self, text: str) -> int | None:
        """0 if the first-shown response wins, 1 for the second, None otherwise."""
        return parse_verdict(text, self.name)


@dataclass(frozen=True)
class ListwiseFormat:
    """The listwise ``principle`` format: K masked responses, a JSON ranking back."""

    name: str
    system_prompt: str | None
    user_template: str
    strip_think: bool = True

    def render(self, prompt: Text, responses: Sequence[Text], principle: str | None = None) -> list[Message]:
        """Chat messages showing ``responses`` as model-1..model-K in the given order.

        The caller shuffles (and maps back); this only renders.
        """
        blocks = "\n\n".join(
            f"### model-{i + 1}\n\n{render_text(r, drop_think=self.strip_think)}" for i, r in enumerate(responses)
        )
        values = {"query": render_text(prompt), "responses": blocks, "principle": principle or DEFAULT_PRINCIPLE}
        return _messages(self.system_prompt and _fill(self.system_prompt, values), _fill(self.user_template, values))

    def parse(self, text: str, k: int) -> Ranking | None:
        return parse_ranking(text, k)


JudgeFormat = PairwiseFormat | ListwiseFormat

# Scoring: (prefix, label of the first-shown response, of the second, verdict opener).
# The rrm labels carry their leading space so the prefix never ends in a space (a
# tokenizer merges " 1" into one token, but not "Assistant " + "1").
_SCORING = {
    "rrm": ("\\boxed{Assistant", (" 1", " 2"), "\\boxed{"),
    "rm_r1": ("<answer>[[", ("A", "B"), "<answer>"),
    "rm_r1_distilled": ("<answer>[[", ("A", "B"), "<answer>"),
}

_DEFAULTS: dict[str, tuple[str | None, str, str]] = {
    "rrm": (RRM_SYSTEM_PROMPT, RRM_USER_TEMPLATE, "\\boxed{Assistant "),
    "rm_r1": (RM_R1_SYSTEM_PROMPT, RM_R1_USER_TEMPLATE, "<answer>[["),
    "rm_r1_distilled": (None, RM_R1_DISTILLED_USER_TEMPLATE, "<answer>[["),
    "principle": (PRINCIPLE_SYSTEM_PROMPT, PRINCIPLE_USER_TEMPLATE, ""),
}
FORMATS = tuple(_DEFAULTS)

_UNSET = object()


def get_format(
    name: str,
    *,
    system_prompt: str | None | object = _UNSET,
    user_template: str | None = None,
    strip_think: bool = True,
) -> JudgeFormat:
    """Builds a format by name, optionally with the user's own prompt text.

    Args:
        name: one of ``"rrm"``, ``"rm_r1"``, ``"rm_r1_distilled"``, ``"principle"``.
        system_prompt: replaces the default system prompt; ``None`` sends no system message.
        user_template: replaces the default user message; must keep the placeholders
            (``{query}``, ``{response_1}``, ``{response_2}`` pairwise; ``{query}``,
            ``{responses}`` listwise).
        strip_think: remove ``<think>`` blocks from the judged responses.

    Raises:
        ValueError: unknown ``name``, or a template missing a placeholder.
    """
    if name not in _DEFAULTS:
        raise ValueError(f"format={name!r} is unknown; expected one of {FORMATS}")
    default_system, default_user, prefix = _DEFAULTS[name]
    system = default_system if system_prompt is _UNSET else system_prompt
    if system is not None and not isinstance(system, str):
        raise TypeError(f"system_prompt must be a string or None, got {type(system).__name__}")
    if name in PAIRWISE_FORMATS:
        _check_template("user_template", user_template, ("query", "response_1", "response_2"))
        score_prefix, labels, verdict_open = _SCORING[name]
        return PairwiseFormat(
            name, system, user_template or default_user, prefix, strip_think, score_prefix, labels, verdict_open
        )
    _check_template("user_template", user_template, ("query", "responses"))
    template = user_template or default_user
    if "{principle}" not in template and "{principle}" not in (system or ""):
        raise ValueError("the principle format needs a {principle} placeholder in user_template or system_prompt")
    return ListwiseFormat(name, system, template, strip_think)
