"""Parsing judge outputs, and plugging your own judge into trl_rrm.

    python examples/parse_and_plug.py

No model needed. Shows:
1. ``parse_verdict`` / ``parse_ranking``: pure parsers that return None (never a guess)
   when a judge output has no trustworthy verdict;
2. ``get_format``: how a match is rendered for the judge, with your own template;
3. the judge protocol: any object with ``compare(matches) -> list[Verdict]`` is a
   pairwise judge, so a rule, an API client or a model all plug in the same way.
"""

from trl_rrm import Match, Verdict, get_format, parse_ranking, parse_verdict

# 1. Parsing -------------------------------------------------------------------------
outputs = {
    "rrm, decided": "<think>Response 1 computes 17*3=51 correctly.</think>\n\\boxed{Assistant 1}",
    "rrm, only inside thinking": "<think>maybe \\boxed{Assistant 2}</think> I cannot decide.",
    "rrm, hedged": "Both are fine: \\boxed{Assistant 1 or Assistant 2}",
    "rm_r1": "<type>Reasoning</type><solution>51</solution><eval>B is wrong.</eval><answer>[[A]]</answer>",
}
for name, text in outputs.items():
    fmt = "rrm" if name.startswith("rrm") else "rm_r1"
    print(f"{name:28s} -> {parse_verdict(text, fmt)}")

ranking = parse_ranking(
    "Scores follow.\n```json\n{'scores': {'model-1': 2, 'model-2': 5, 'model-3': 4,}, "
    "'best-to-worst': ['model-2', 'model-3', 'model-1']}\n```",
    k=3,
)
print("principle ranking           ->", ranking.order, ranking.scores)

# 2. Formats ---------------------------------------------------------------------------
fmt = get_format(
    "rrm",
    system_prompt="You grade answers to math questions.",
    user_template="## Query\n{query}\n\n### Assistant 1\n{response_1}\n\n### Assistant 2\n{response_2}\n\n"
    "## Analysis\nFinish with \\boxed{Assistant 1} or \\boxed{Assistant 2}.",
)
print(fmt.render("What is 17*3?", "51", "41")[1]["content"])


# 3. Your own judge ----------------------------------------------------------------------
class ShorterIsBetter:
    """A rule judge: prefers the shorter response, abstains on equal length."""

    def compare(self, matches):
        verdicts = []
        for match in matches:
            a, b = (len(str(r)) for r in match.responses)
            verdicts.append(Verdict(winner=None if a == b else int(b < a), tie=a == b))
        return verdicts


judge = ShorterIsBetter()
print([v.winner for v in judge.compare([Match("q", ("short", "much longer")), Match("q", ("abc", "xyz"))])])
