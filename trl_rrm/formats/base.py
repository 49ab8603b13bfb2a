"""What a judge format is: one object that renders a match and reads the answer.

A format carries everything the rest of the library needs to know about it: its prompt
text, its parser, the verdict labels and the strings around them (for forced answers,
stop strings and label scoring), and the lines and markers a response could use to
imitate its structure (for the defence in ``untrusted``). Adding a format is one such
object in ``trl_rrm.formats.FORMATS``.

Templates use the placeholders ``{query}``, ``{response}`` (pointwise), ``{response_1}``, ``{response_2}``
(pairwise), ``{responses}`` (listwise) and ``{principle}``; other braces (LaTeX, JSON)
are left alone, and a value is never substituted twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..thinking import strip_think
from ..types import Message, Ranking, Text
from .untrusted import COMMON_CONTROL_TOKENS, SPACE_CHARS, ZERO_WIDTH_SPACE, neutralize

DEFAULT_PRINCIPLE = (
    "Prefer the response that follows the user's instruction most faithfully and is the most "
    "helpful, correct and honest; for a harmful request, prefer the response that stays safe."
)

_PLACEHOLDER = re.compile(r"\{(query|response_1|response_2|responses|response|principle)\}")


def fill(template: str, values: dict[str, str]) -> str:
    """Substitutes the placeholders in one pass (a value containing "{query}" stays as it is)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def render_content(content: object) -> str:
    """Text of a message content: a string, or a list of parts ({"type": "text", ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return "" if content is None else str(content)


# Where a line starts for a reader: after any line break a tokenizer or a model treats as
# one (\r, U+2028, U+2029, vertical tab, form feed, NEL), not only after \n.
LINE_START = r"(?:^|(?<=[\r\u2028\u2029\x0b\x0c\x85]))"
BLANK = f"[{SPACE_CHARS}]*"  # tabs and every Unicode space (no-break, em, full-width, ...)
_LINE_END = r"(?=$|[\r\n\u2028\u2029\x0b\x0c\x85])"

# The transcript's own headers ("[Tool]", "[Assistant]", "[Tool call]"), as a line of a
# message's content would spell them: made inert so one message cannot forge other turns.
_HEADERS = re.compile(
    LINE_START + BLANK + r"\[(?:system|developer|user|assistant|tool|tool" + f"[{SPACE_CHARS}]+" + r"call)\]",
    re.IGNORECASE | re.MULTILINE,
)


def _tool_calls(message: dict) -> str:
    """``[Tool call] name(arguments)`` lines of a message's ``tool_calls`` (OpenAI/TRL layout)."""
    lines = []
    for call in message.get("tool_calls") or ():
        function = call.get("function", call) if isinstance(call, dict) else {}
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
        lines.append(f"[Tool call] {function.get('name', '?')}({arguments})")
    return "\n".join(lines)


def render_text(value: Text, *, drop_think: bool | str = False, clean: Callable[[str], str] | None = None) -> str:
    """Renders a prompt or response for the judge to read.

    A string stays as it is. A message list becomes readable text: a single user or
    assistant message is its content; a longer history is a transcript with ``[User]``,
    ``[Assistant]``, ``[Tool]`` and ``[System]`` headers, so the judge sees every earlier
    turn. An assistant's ``tool_calls`` are written as ``[Tool call] name(arguments)``
    lines after its content (a call is what the assistant did: dropping it would hide
    it). A line of a message's content that spells one of those headers is made inert
    (``untrusted.neutralize``), so one message cannot forge ``[Tool] 50 passed``.
    ``drop_think`` (a ``strip_think`` mode) removes the reasoning of assistant turns;
    ``clean`` is applied to every message text (never to the headers).

    Raises:
        TypeError: ``value`` is neither a string nor a list of role/content dicts.
    """
    clean = clean or (lambda text: text)
    if isinstance(value, str):
        return clean(strip_think(value, drop_think))
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, dict) and "role" in m for m in value):
        raise TypeError(f"expected a string or a list of chat messages with 'role' and 'content', got {value!r:.120}")
    texts = []
    for message in value:
        text = render_content(message.get("content"))
        if message["role"] == "assistant":
            text = strip_think(text, drop_think)
        text = clean(neutralize(text, sections=[_HEADERS]))
        calls = _tool_calls(message)
        if calls:
            text = f"{text}\n{clean(calls)}" if text.strip() else clean(calls)
        texts.append(text)
    if len(value) == 1 and value[0]["role"] in ("user", "assistant"):
        return texts[0]
    return "\n\n".join(f"[{str(m['role']).capitalize()}]\n{t}" for m, t in zip(value, texts))


def _messages(system_prompt: str | None, user: str) -> list[Message]:
    if system_prompt:
        return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]
    return [{"role": "user", "content": user}]


def check_template(field_name: str, template: str | None, required: Sequence[str]) -> None:
    """Raises when a user template lacks one of the ``required`` placeholders."""
    if template is None:
        return
    if not isinstance(template, str):
        raise TypeError(f"{field_name} must be a string, got {type(template).__name__}")
    missing = [p for p in required if "{" + p + "}" not in template]
    if missing:
        raise ValueError(f"{field_name}={template!r:.80} lacks the placeholder(s) " + ", ".join("{" + p + "}" for p in missing))


_NEVER = re.compile(r"(?!)")  # matches nothing
_HTML_LIKE = ("<s>", "</s>")  # Llama 2's BOS / EOS, spelled like HTML tags

def section_lines(titles: str) -> re.Pattern:
    """A pattern of the markdown section lines ``# <title>`` a format's template is built
    from, in every spelling a reader takes for one: any number of ``#`` (full-width ``＃``
    too), any blanks (``BLANK``) around the title, an optional colon, a line that starts
    after any line break; matched on the text as a reader sees it, without invisible
    characters (``neutralize(sections=...)``). Only the whole line: ``### Analysis of the
    data`` is a user's own heading."""
    return re.compile(
        LINE_START + BLANK + r"[#\uff03]+" + BLANK + f"(?:{titles})" + BLANK + ":?" + BLANK + _LINE_END,
        re.IGNORECASE | re.MULTILINE,
    )


@dataclass(frozen=True)
class JudgeFormat:
    """The parts every format has.

    Attributes:
        name: the registry name (``"rrm"``, ...).
        system_prompt: system message (placeholders allowed), or None for one user message.
        user_template: the user message with the format's placeholders.
        structure: the section lines the format's templates are built from (``### Assistant 2``,
            ``[The End of Chatbot A's Response]``); a response line that imitates one is
            neutralised before it reaches the judge (``trl_rrm.formats.untrusted``).
        markers: verdict markers and judge-output tags (``\\boxed{Assistant 1}``, ``[[A]]``),
            neutralised the same way and counted as suspicious in a policy completion.
        verdicts_inert: what the format's parser would read as a verdict, in any spelling
            it accepts, made inert (where a pattern cannot say it: balanced braces, JSON).
        strip_think: how a response's reasoning is removed before judging (``thinking``).
    """

    name: str
    system_prompt: str | None
    user_template: str
    structure: re.Pattern = field(default=_NEVER, repr=False)
    markers: re.Pattern = field(default=_NEVER, repr=False)
    verdicts_inert: Callable[[str], str] = field(default=lambda text: text, repr=False)
    strip_think: bool | str = "leading"

    def neutralize(self, text: str, control_tokens: Sequence[str] = ()) -> str:
        """``text`` with this format's structure lines, verdict markers and ``control_tokens``
        made inert (``untrusted.neutralize``)."""
        return neutralize(self.verdicts_inert(text), control_tokens=control_tokens, patterns=(self.markers,),
                          sections=(self.structure,))  # fmt: skip

    def shown_texts(
        self,
        prompt: Text,
        responses: Sequence[Text],
        principle: str | None = None,
        control_tokens: Sequence[str] | None = COMMON_CONTROL_TOKENS,
    ) -> tuple[str, tuple[str, ...], str | None]:
        """(query, responses, principle) as this format's judge is shown them: rendered
        (``render_text``; the responses' reasoning removed as ``strip_think`` says) and,
        unless ``control_tokens`` is None, every text made inert where it imitates the
        format or spells one of ``control_tokens`` (``neutralize``). The one path from a
        match to a judge prompt: ``render``, the judges (with their tokenizer's control
        tokens) and a judge's warm start all go through it."""
        clean = None if control_tokens is None else (lambda text: self.neutralize(text, control_tokens))
        query = render_text(prompt, clean=clean)
        shown = tuple(render_text(r, drop_think=self.strip_think, clean=clean) for r in responses)
        return query, shown, (clean(principle) if clean and principle else principle)

    def suspicious(self, text: str, control_tokens: Sequence[str] = ()) -> bool:
        """Whether ``text``, as the judge would be shown it (its reasoning stripped as
        ``strip_think`` says), imitates this format (a section line, a verdict the parser
        would read) or spells one of ``control_tokens``: what a policy hacking the judge writes."""
        shown = strip_think(text, self.strip_think)
        inert = self.neutralize(shown, control_tokens)
        for tag in _HTML_LIKE:  # escaped all the same, but alone they are HTML strikethrough, not an attack
            inert = inert.replace(tag[0] + ZERO_WIDTH_SPACE + tag[1:], tag)
        return inert != shown

    def _messages(self, values: dict[str, str]) -> list[Message]:
        return _messages(self.system_prompt and fill(self.system_prompt, values), fill(self.user_template, values))


def one_line_each(basis: str, checks: Sequence[str], verdict: str, kind: str) -> str:
    """A written judgment as plain lines: the basis, each check, the verdict (``rrm``)."""
    return "\n".join([basis, *checks, verdict])


@dataclass(frozen=True)
class PairwiseFormat(JudgeFormat):
    """A pairwise judge format: renders two responses, parses a 0/1 verdict.

    Attributes:
        parse_final: the parser of a final answer (text after thinking): 0, 1 or None.
        verdict_prefix: appended after a judgment without a verdict to force one.
        score_prefix: the text after which the two verdict labels are scored.
        labels: the continuations of ``score_prefix`` naming the first-shown and the
            second-shown response (their log-probabilities give p(first better)).
        verdict_close: what closes a verdict after ``score_prefix + label``.
        verdict_open: where a written verdict starts (a likelihood judgment scores the
            labels in place of the judge's own last verdict).
        names: how the responses are called in the prompt (code-written traces, attacks).
        frame: ``(basis, checks, verdict, kind) -> text``: how this format's judge lays out
            a written judgment (``written_judgment``); the default, one line each.
        forged_template: what a response appends to forge this format's structure, with
            ``{first}``, ``{second}`` and ``{verdict}`` (``forged_structure``); "" for none.
    """

    parse_final: Callable[[str], int | None] = field(default=lambda text: None, repr=False)
    verdict_prefix: str = ""
    score_prefix: str = ""
    labels: tuple[str, str] = ("", "")
    verdict_close: str = ""
    verdict_open: str = ""
    names: tuple[str, str] = ("", "")
    frame: Callable[[str, Sequence[str], str, str], str] = field(default=one_line_each, repr=False)
    forged_template: str = ""

    @property
    def verdicts(self) -> tuple[str, str]:
        """The two complete verdicts (first-shown wins, second-shown wins)."""
        return tuple(self.score_prefix + label + self.verdict_close for label in self.labels)  # type: ignore[return-value]

    def written_judgment(self, basis: str, checks: Sequence[str], winner: int, kind: Literal["chat", "reasoning"] = "chat") -> str:
        """A judgment laid out as this format's judge writes it: ``basis`` (the rule the
        checks apply, or for ``kind="reasoning"`` the worked solution), one line per check,
        then the verdict naming ``winner`` (0: the first-shown response). Code-written
        traces (a judge's warm start) are built here, so they never disagree with ``parse``."""
        return self.frame(basis, list(checks), self.verdicts[winner], kind)

    def forged_structure(self) -> str:
        """What a response appends to forge this format's structure: its own end, an empty
        other response, an analysis and a verdict for itself ("" when the format has none).
        The robustness suite's ``forged_sections`` attack; ``sanitize`` must make it inert."""
        first, second = self.names
        return self.forged_template.format(first=first, second=second, verdict=self.verdicts[0])

    def render(
        self,
        prompt: Text,
        response_1: Text,
        response_2: Text,
        principle: str | None = None,
        control_tokens: Sequence[str] | None = COMMON_CONTROL_TOKENS,
    ) -> list[Message]:
        """Chat messages that show ``response_1`` first and ``response_2`` second, the texts
        as a judge is shown them (``shown_texts``: reasoning stripped, untrusted text made
        inert; ``control_tokens=None`` pastes them unescaped)."""
        query, responses, principle = self.shown_texts(prompt, (response_1, response_2), principle, control_tokens)
        return self.messages(query, responses, principle)

    def messages(self, query: str, responses: Sequence[str], principle: str | None = None) -> list[Message]:
        """Chat messages from prepared texts: ``responses[0]`` shown first."""
        first, second = responses
        return self._messages(
            {"query": query, "response_1": first, "response_2": second, "principle": principle or DEFAULT_PRINCIPLE}
        )

    def parse(self, text: str) -> int | None:
        """0 if the first-shown response wins, 1 for the second, None otherwise; never raises."""
        from ..thinking import final_answer_text

        if not isinstance(text, str):
            return None
        final = final_answer_text(text)
        return None if final is None else self.parse_final(final)


@dataclass(frozen=True)
class ListwiseFormat(JudgeFormat):
    """A listwise format: K masked responses shown as ``model-1..model-K``, a ranking back.

    Attributes:
        parse_ranking: ``(text, k) -> Ranking | None``, never raising.
    """

    parse_ranking: Callable[[str, int], Ranking | None] = field(default=lambda text, k: None, repr=False)

    def render(
        self,
        prompt: Text,
        responses: Sequence[Text],
        principle: str | None = None,
        control_tokens: Sequence[str] | None = COMMON_CONTROL_TOKENS,
    ) -> list[Message]:
        """Chat messages showing ``responses`` as model-1..model-K in the given order (the
        caller shuffles and maps back), as a judge is shown them (``shown_texts``)."""
        query, shown, principle = self.shown_texts(prompt, responses, principle, control_tokens)
        return self.messages(query, shown, principle)

    def messages(self, query: str, responses: Sequence[str], principle: str | None = None) -> list[Message]:
        """Chat messages from prepared texts, ``responses[i]`` as model-(i+1)."""
        blocks = "\n\n".join(f"### model-{i + 1}\n\n{r}" for i, r in enumerate(responses))
        return self._messages({"query": query, "responses": blocks, "principle": principle or DEFAULT_PRINCIPLE})

    def parse(self, text: str, k: int) -> Ranking | None:
        return self.parse_ranking(text, k)

    @property
    def verdicts(self) -> tuple[str, ...]:
        """A listwise answer has no fixed verdict strings (no stop strings)."""
        return ()
