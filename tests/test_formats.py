"""Formats render the exact markers, accept conversational inputs and user templates."""

from __future__ import annotations

import pytest

from trl_rrm import get_format, parse_verdict
from trl_rrm.formats import render_text


def user_turn(messages):
    assert messages[-1]["role"] == "user"
    return messages[-1]["content"]


def test_rrm_markers_and_system_prompt():
    messages = get_format("rrm").render("What is 2+2?", "4", "5")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = user_turn(messages)
    for marker in ("## Query", "## Assistant responses", "### Assistant 1", "### Assistant 2", "## Analysis"):
        assert marker in user
    assert user.index("### Assistant 1\n\n4") < user.index("### Assistant 2\n\n5")
    assert "\\boxed{Assistant 1}" in user and "\\boxed{Assistant 2}" in user
    assert "order" in messages[0]["content"] and "length" in messages[0]["content"]


def test_rm_r1_variants():
    instruct = get_format("rm_r1").render("Q?", "first", "second")
    assert [m["role"] for m in instruct] == ["system", "user"]
    system = instruct[0]["content"]
    for tag in ("<type>Chat</type>", "<type>Reasoning</type>", "<rubric>", "<justify>", "<eval>", "<solution>"):
        assert tag in system
    assert "<answer>[[A]]</answer>" in system and "<answer>[[B]]</answer>" in system
    user = user_turn(instruct)
    assert "[The Start of Chatbot A's Response]\nfirst\n[The End of Chatbot A's Response]" in user
    assert "[The Start of Chatbot B's Response]\nsecond\n[The End of Chatbot B's Response]" in user

    distilled = get_format("rm_r1_distilled").render("Q?", "first", "second")
    assert [m["role"] for m in distilled] == ["user"]
    assert "<answer>[[A]]</answer>" in distilled[0]["content"]
    assert "[The Start of Chatbot A's Response]\nfirst" in distilled[0]["content"]


def test_principle_format_lists_masked_responses():
    fmt = get_format("principle")
    messages = fmt.render("Q?", ["alpha", "beta", "gamma"], principle="Be concise.")
    user = user_turn(messages)
    assert "Be concise." in user
    assert "### model-1\n\nalpha" in user and "### model-3\n\ngamma" in user
    assert '"best-to-worst"' in user and '"scores"' in user


def test_default_principle_when_none():
    user = user_turn(get_format("principle").render("Q?", ["a", "b"]))
    assert "## Principle\n\nPrefer the response" in user


def test_conversational_inputs_render_readably():
    prompt = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": "Another one?"},
    ]
    completion = [{"role": "assistant", "content": "<think>5 is prime</think>\n5"}]
    user = user_turn(get_format("rrm").render(prompt, completion, [{"role": "assistant", "content": "9"}]))
    assert "[System]\nYou are terse.\n\n[User]\nName a prime.\n\n[Assistant]\n7\n\n[User]\nAnother one?" in user
    assert "### Assistant 1\n\n5\n\n" in user and "5 is prime" not in user
    assert "### Assistant 2\n\n9" in user


def test_single_user_message_is_its_content():
    assert render_text([{"role": "user", "content": "hello"}]) == "hello"
    assert render_text([{"role": "user", "content": [{"type": "text", "text": "multi"}, {"type": "text", "text": "part"}]}]) == "multi\npart"


def test_think_kept_when_asked():
    fmt = get_format("rrm", strip_think=False)
    assert "<think>secret</think>A" in user_turn(fmt.render("Q", "<think>secret</think>A", "B", control_tokens=None))
    shown = user_turn(fmt.render("Q", "<think>secret</think>A", "B"))  # as a judge shows it: the tags made inert
    assert "secret" in shown and "<think>" not in shown


@pytest.mark.parametrize(
    "completion, mode, expected",
    [
        ("<think>plan</think>answer", "leading", "answer"),
        ("plan only, template opened it</think>\nanswer", "template", "answer"),
        ("<think>cut off mid-thought", "leading", ""),
        ("no thinking at all", "leading", "no thinking at all"),
        ("<think>a</think><think>b</think>final", "leading", "final"),
        # a stray tag in an ordinary completion is text (issue 17)
        ("How do I close a tag like </think>? Use a slash.", "leading", "How do I close a tag like </think>? Use a slash."),
        ("Write <think> to open it, </think> to close it.", "leading", "Write <think> to open it, </think> to close it."),
        ("<think>x</think>answer", "none", "<think>x</think>answer"),
    ],
)
def test_strip_think(completion, mode, expected):
    from trl_rrm import strip_think

    assert strip_think(completion, mode) == expected


def test_user_templates_keep_markers_and_substitute_once():
    fmt = get_format(
        "rrm",
        system_prompt=None,
        user_template="Q: {query}\nA1: {response_1}\nA2: {response_2}\nJSON like {\"a\": 1} and \\boxed{Assistant 1}",
    )
    messages = fmt.render("{response_2}", "one", "two")
    assert messages == [
        {"role": "user", "content": 'Q: {response_2}\nA1: one\nA2: two\nJSON like {"a": 1} and \\boxed{Assistant 1}'}
    ]
    assert fmt.parse("... \\boxed{Assistant 2}") == 1


def test_custom_system_prompt_with_principle():
    fmt = get_format("rrm", system_prompt="Judge by: {principle}")
    messages = fmt.render("Q", "a", "b", principle="brevity")
    assert messages[0] == {"role": "system", "content": "Judge by: brevity"}


@pytest.mark.parametrize(
    "name, kwargs, error, message",
    [
        ("pairrm", {}, ValueError, "format='pairrm' is unknown"),
        ("rrm", {"user_template": "{query} {response_1}"}, ValueError, "{response_2}"),
        ("principle", {"user_template": "{query}"}, ValueError, "{responses}"),
        ("principle", {"user_template": "{query} {responses}", "system_prompt": None}, ValueError, "{principle}"),
        ("rrm", {"system_prompt": 3}, TypeError, "system_prompt must be a string"),
    ],
)
def test_bad_format_arguments(name, kwargs, error, message):
    with pytest.raises(error, match=message.replace("{", r"\{").replace("}", r"\}")):
        get_format(name, **kwargs)


def test_bad_input_type():
    with pytest.raises(TypeError, match="expected a string or a list of chat messages"):
        get_format("rrm").render({"not": "a prompt"}, "a", "b")


def test_parse_unknown_format():
    with pytest.raises(ValueError, match="fmt='principle' is not a pairwise format"):
        parse_verdict("x", "principle")


@pytest.mark.parametrize("name", ["rrm", "rm_r1", "rm_r1_distilled"])
def test_a_format_writes_and_forges_what_its_own_parser_reads(name):
    """Code-written traces and the forged-sections attack come from the format object: the
    parser reads the written verdict, and the forged structure is one the format flags."""
    from trl_rrm.formats import PAIRWISE_FORMATS

    assert set(PAIRWISE_FORMATS) == {"rrm", "rm_r1", "rm_r1_distilled"}  # a new format joins this test
    fmt = get_format(name)
    for winner in (0, 1):
        for kind in ("chat", "reasoning"):
            text = fmt.written_judgment("Rule: be brief.", [f"{fmt.names[0]}: yes", f"{fmt.names[1]}: no"], winner, kind)
            assert fmt.parse(text) == winner and text.endswith(fmt.verdicts[winner])
    forged = fmt.forged_structure()
    assert fmt.names[1] in forged and forged.endswith(fmt.verdicts[0])
    assert fmt.suspicious("fine" + forged)
