"""Table tests for the pure verdict and ranking parsers (trl_rrm.parsing).

Every case is a judge output as a real judge writes it (thinking, markdown, math, other
languages, truncation, hedging) with the verdict the reward must read from it:
0 = the first-shown response wins, 1 = the second, None = no usable verdict.
"""

from __future__ import annotations

import math
import random
import time

import pytest

from trl_rrm.parsing import final_answer_text, parse_ranking, parse_verdict, strip_think
from trl_rrm.types import Ranking

# =========================================================================== rrm
# A DeepSeek-R1-distilled RRM judge: "<think> ... </think>" (the chat template often opens
# the block in the prompt, so only "</think>" is generated), then an analysis and
# \boxed{Assistant 1} / \boxed{Assistant 2}.

RRM_THINK_CODE = r"""<think>
Okay, so I need to compare two responses to a request for a Python function that removes
duplicates from a list while keeping the order. Let me look at Assistant 1 first.

Assistant 1 uses `list(set(items))`. That removes duplicates, but a set does not keep the
insertion order, so the output order is arbitrary. The user explicitly asked to keep the
order, so this violates rule 1.

Assistant 2 uses `dict.fromkeys(items)`, which keeps insertion order since Python 3.7.
Wait, does it handle unhashable items? No, but neither does Assistant 1, and the user's
example only has integers. So Assistant 2 is correct for the request.
</think>"""

RRM_FINAL_2 = r"""

**Comparison**

1. *Instruction following*: the user asked to preserve order. Assistant 1's `set()`
   loses it; Assistant 2's `dict.fromkeys` keeps it.
2. *Correctness*: only Assistant 2 returns `[3, 1, 2]` for `[3, 1, 3, 2, 1]`.
3. *Length*: both are short; length is not a factor.

Assistant 2 follows the instruction exactly, so it is the better response.

\boxed{Assistant 2}"""

RRM_MATH_ANALYSIS = r"""## Analysis

The query asks for the probability of rolling a sum of 7 with two fair dice.

**Step 1.** There are $6 \times 6 = 36$ equally likely outcomes.
**Step 2.** The pairs summing to 7 are (1,6), (2,5), (3,4), (4,3), (5,2), (6,1): six of them.
**Step 3.** So the probability is $\frac{6}{36} = \boxed{\frac{1}{6}}$.

Assistant 1 counts only three ordered pairs and answers $\boxed{\frac{1}{12}}$, which is wrong.
Assistant 2 lists all six pairs and concludes $\frac{1}{6}$, matching my computation.
"""

RRM_SAFETY_FINAL_1 = r"""The user asks how to get into a neighbour's Wi-Fi network without the password.

- Assistant 1 declines to help break into someone else's network and suggests asking
  the neighbour or contacting an internet provider. This stays safe (rule 2).
- Assistant 2 walks through capturing a WPA handshake and cracking it with a wordlist.
  That is direct help with unauthorised access.

Since the request is harmful, the response that stays safe is better.

\boxed{Assistant 1}"""

RRM_ZH = r"""<think>
好的，我需要比较这两个回答。用户问的是"光合作用的主要产物是什么"。
助手1说是氧气和葡萄糖，这是正确的。助手2只提到了二氧化碳，这是错误的，二氧化碳是原料而不是产物。
所以助手1更好。
</think>

综合以上分析：助手1的回答准确地指出了光合作用的产物（葡萄糖和氧气），而助手2把原料当成了产物。

\boxed{Assistant 1}"""

RRM_DE = r"""<think>
Der Nutzer möchte eine kurze Zusammenfassung des Romans in genau drei Sätzen.
Assistent 1 schreibt fünf Sätze. Assistent 2 schreibt genau drei Sätze und trifft die Handlung.
</think>

**Bewertung**

Assistent 2 hält sich exakt an die Vorgabe von drei Sätzen; Assistent 1 überschreitet sie.
Damit ist die zweite Antwort besser.

\boxed{Assistant 2}"""

RRM_RU = r"""</think>

Сравним ответы по правилам.

1. Пользователь просил перевести текст на английский без комментариев.
2. Ассистент 1 добавил длинное пояснение о грамматике — это лишнее.
3. Ассистент 2 дал только перевод, как и просили.

Итог: второй ответ лучше.

\boxed{Assistant 2}"""

RRM_AR = r"""<think>
المستخدم يطلب وصفة بسيطة للخبز. المساعد 1 يعطي وصفة كاملة وواضحة. المساعد 2 يخلط بين الخميرة والبيكنج باودر.
</think>

بعد التحليل، إجابة المساعد الأول أدق وأكثر فائدة للمستخدم.

\boxed{Assistant 1}"""

_LONG_PARAGRAPH = (
    "Looking again at the second paragraph of Assistant 1, the claim about the time "
    "complexity is stated without proof, but it is correct: the loop visits each node "
    "once and the heap operations cost O(log n). Assistant 2 repeats the same argument "
    "with a small example, which is helpful but not required by the instruction.\n"
)
RRM_LONG_100K = "<think>\n" + _LONG_PARAGRAPH * 300 + "</think>\n\n" + _LONG_PARAGRAPH * 40 + r"\boxed{Assistant 1}"
RRM_LONG_ONLY_THINK = "<think>\n" + _LONG_PARAGRAPH * 330 + r"So \boxed{Assistant 2}." + "\n</think>\n\nIn summary, both"

RRM_CASES = [
    # --- the plain shapes ------------------------------------------------------------
    pytest.param(RRM_THINK_CODE + RRM_FINAL_2, 1, id="r1-think-then-markdown-then-box-2"),
    pytest.param(RRM_THINK_CODE + RRM_FINAL_2.replace("{Assistant 2}", "{Assistant 1}"), 0,
                 id="r1-think-then-markdown-then-box-1"),
    pytest.param(RRM_THINK_CODE.removeprefix("<think>\n") + RRM_FINAL_2, 1,
                 id="think-opened-by-template-only-close-generated"),
    pytest.param(RRM_SAFETY_FINAL_1, 0, id="no-think-safety-analysis-box-1"),
    pytest.param(RRM_FINAL_2.strip(), 1, id="no-think-step-list-box-2"),
    pytest.param("</think>\n\n\\boxed{Assistant 2}", 1, id="only-close-tag-then-box"),
    pytest.param("\\boxed{Assistant 1}", 0, id="bare-box-1"),
    # --- math boxes inside the analysis are not verdicts ---------------------------------
    pytest.param(RRM_MATH_ANALYSIS + "\nAssistant 2 is correct.\n\n\\boxed{Assistant 2}", 1,
                 id="math-boxes-in-analysis-then-verdict"),
    pytest.param("Both responses end in $\\boxed{42}$, but Assistant 1 shows the work.\n\\boxed{Assistant 1}"
                 "\n\nFor reference, the answer to the query is $\\boxed{42}$.", 0,
                 id="math-box-after-verdict-skipped"),
    pytest.param("\\boxed{Assistant 2}\n\nThe correct option was \\boxed{C}.", 1,
                 id="multiple-choice-letter-box-after-verdict"),
    pytest.param(RRM_MATH_ANALYSIS, None, id="only-math-boxes-no-verdict"),
    pytest.param("$x = \\boxed{\\dfrac{\\sqrt{3}}{2}}$ and then \\boxed{\\text{Assistant 2}}", 1,
                 id="nested-braces-frac-sqrt-then-verdict"),
    pytest.param("\\boxed{Assistant 1} since both get $\\boxed{\\frac{1}{2}}$ but 1 explains it", 0,
                 id="nested-braces-after-verdict"),
    pytest.param("\\boxed{Assistant 2}\n\n```c\nint main(void) {\n    return 0;\n```\n(the code block is cut)", 1,
                 id="unbalanced-brace-in-code-after-verdict"),
    pytest.param("```c\nif (x > 0) {\n```\nAssistant 1's snippet is incomplete.\n\\boxed{Assistant 2}", 1,
                 id="unbalanced-brace-in-code-before-verdict"),
    pytest.param("Verdict:\n\\boxed{Assistant 2}\n\nScore check: \\boxed{}", 1, id="empty-box-after-verdict"),
    # --- truncation ------------------------------------------------------------------------
    pytest.param(RRM_THINK_CODE + "\n\nComparing both responses, Assistant 2 keeps the ord", None,
                 id="truncated-mid-sentence-after-think"),
    pytest.param(RRM_THINK_CODE + "\n\nTherefore the better response is \\boxed{Assist", None,
                 id="truncated-mid-box"),
    pytest.param(RRM_THINK_CODE + "\n\nTherefore \\boxed{\\text{Assistant 2}", None,
                 id="truncated-box-missing-outer-brace"),
    pytest.param(RRM_THINK_CODE.removesuffix("</think>") + "Hmm, so far \\boxed{Assistant 2} looks right, but",
                 None, id="truncated-inside-think"),
    pytest.param("<think>\nLet me compare.\n\nAssistant 1 is better.\n\n\\boxed{Assistant 1}", None,
                 id="think-never-closed-with-box"),
    pytest.param("\\boxed{" * 5000, None, id="degenerate-thousands-of-unclosed-boxes"),
    # --- last marker wins; markers inside the thinking do not count ----------------------------
    pytest.param("<think>\nAt first glance \\boxed{Assistant 1}. But wait, 1 loses the order.\n</think>\n\n"
                 "Final verdict: \\boxed{Assistant 2}", 1, id="final-box-contradicts-box-in-think"),
    pytest.param("<think>\nI think \\boxed{Assistant 1} is the answer.\n</think>\n\n"
                 "Both responses have merit and I cannot decide.", None, id="marker-only-inside-think"),
    pytest.param(RRM_LONG_ONLY_THINK, None, id="long-marker-only-inside-think"),
    pytest.param("\\boxed{Assistant 1}\n\nOn reflection, Assistant 1 misses the order requirement.\n\n"
                 "\\boxed{Assistant 2}", 1, id="self-correction-last-box-wins"),
    pytest.param("\\boxed{Assistant 2} \\boxed{Assistant 1}", 0, id="two-boxes-one-line-last-wins"),
    pytest.param("\\boxed{Assistant 2}\n\nSo again: \\boxed{Assistant 2}.\n\n**Answer:** \\boxed{Assistant 2}", 1,
                 id="answer-repeated"),
    pytest.param("<think>a \\boxed{Assistant 2}</think> reconsidering </think>\n\\boxed{Assistant 1}", 0,
                 id="two-close-tags-after-last-counts"),
    pytest.param("<think>a</think> \\boxed{Assistant 1} hmm </think>\nI am not sure.", None,
                 id="box-before-last-close-tag-ignored"),
    # --- ambiguous / hedged verdict boxes -----------------------------------------------------
    pytest.param("Both are equally good.\n\\boxed{Assistant 1 and Assistant 2}", None, id="box-names-both"),
    pytest.param("\\boxed{Assistant 1 or 2}", None, id="box-assistant-1-or-2"),
    pytest.param("\\boxed{Assistant 1/2}", None, id="box-assistant-1-slash-2"),
    pytest.param("\\boxed{Assistants 1 and 2}", None, id="box-plural-assistants"),
    pytest.param("\\boxed{Assistant 1} is tempting, but \\boxed{Neither assistant} is acceptable.", None,
                 id="box-neither-assistant-last"),
    pytest.param("Neither response answers the question.\n\\boxed{Neither}", None, id="box-neither-alone"),
    pytest.param("\\boxed{Tie}", None, id="box-tie-alone"),
    pytest.param("\\boxed{Assistant 3}", None, id="box-assistant-3"),
    pytest.param("\\boxed{Assistant 12}", None, id="box-assistant-12"),
    pytest.param("\\boxed{Assistant}", None, id="box-assistant-without-number"),
    pytest.param("Assistant 2 is clearly better than Assistant 1.", None, id="prose-verdict-without-box"),
    # --- accepted spellings ----------------------------------------------------------------
    pytest.param("\\boxed{assistant 2}", 1, id="lowercase-assistant"),
    pytest.param("\\boxed{ASSISTANT 1}", 0, id="uppercase-assistant"),
    pytest.param("\\boxed{  Assistant   2  }", 1, id="whitespace-inside-box"),
    pytest.param("\\boxed {Assistant 1}", 0, id="space-before-brace"),
    pytest.param("\\boxed{\nAssistant 2\n}", 1, id="newlines-inside-box"),
    pytest.param("\\boxed{Assistant1}", 0, id="no-space-before-number"),
    pytest.param("\\boxed{\\text{Assistant 2}}", 1, id="latex-text-wrapper"),
    pytest.param("\\boxed{\\textbf{Assistant 1}}", 0, id="latex-textbf-wrapper"),
    pytest.param("\\boxed{\\mathrm{Assistant~1}}", 0, id="latex-mathrm-tilde"),
    pytest.param("\\boxed{\\text{Assistant\\ 2}}", 1, id="latex-backslash-space"),
    pytest.param("\\boxed{\\text{Assistant}~2}", 1, id="latex-tilde-outside-text"),
    pytest.param("$$\\boxed{\\text{Assistant 2}}$$", 1, id="display-math"),
    pytest.param("\\[ \\boxed{Assistant 1} \\]", 0, id="bracket-display-math"),
    pytest.param("**Final answer:** **\\boxed{Assistant 2}**", 1, id="markdown-bold-around-box"),
    pytest.param("\\boxed{**Assistant 1**}", 0, id="markdown-bold-inside-box"),
    pytest.param("\\boxed{Assistant 2 is better}", 1, id="sentence-inside-box"),
    # --- other languages -------------------------------------------------------------------
    pytest.param(RRM_ZH, 0, id="chinese-analysis"),
    pytest.param(RRM_DE, 1, id="german-analysis"),
    pytest.param(RRM_RU, 1, id="russian-analysis"),
    pytest.param(RRM_AR, 0, id="arabic-analysis"),
    pytest.param("分析：两者都算出 $\\boxed{2}$，但助手2解释更清楚。\n\n\\boxed{\\text{Assistant 2}}", 1,
                 id="chinese-math-box-then-verdict"),
    # --- degenerate inputs -----------------------------------------------------------------
    pytest.param("", None, id="empty"),
    pytest.param("  \n\t \n ", None, id="only-whitespace"),
    pytest.param("<think></think>", None, id="empty-think"),
    pytest.param(RRM_LONG_100K, 0, id="very-long-100k-chars"),
]


@pytest.mark.parametrize(("text", "expected"), RRM_CASES)
def test_parse_verdict_rrm(text, expected):
    assert parse_verdict(text, "rrm") == expected


def test_rrm_long_case_is_really_long():
    assert len(RRM_LONG_100K) > 100_000
    assert len(RRM_LONG_ONLY_THINK) > 100_000


def test_rrm_degenerate_boxes_are_linear():
    text = "\\boxed{\\frac{" * 20_000  # 260k chars of unclosed boxes: must not be quadratic
    start = time.perf_counter()
    assert parse_verdict(text, "rrm") is None
    assert time.perf_counter() - start < 1.0


# ========================================================================= rm_r1
# Chain-of-Rubrics: <type>, then <rubric>/<justify>/<eval> (Chat) or <solution>/<eval>
# (Reasoning), then <answer>[[A]]</answer> or <answer>[[B]]</answer>.

RMR1_CHAT_EVAL = """<type>Chat</type>
<rubric>
1. Medical accuracy of the advice (40%)
2. Safety: recommends seeing a doctor for warning signs (35%)
3. Clarity and structure (25%)
<justify>
The client asks how to treat a mild sprained ankle at home. Wrong advice can cause harm,
so accuracy and safety carry most of the weight.
</justify>
</rubric>
<eval>
Chatbot A recommends the RICE protocol (rest, ice, compression, elevation) and says to see a
doctor if the client cannot bear weight. <quote_A>If you cannot put weight on the foot after
48 hours, see a doctor.</quote_A>
Chatbot B recommends applying heat immediately, which increases swelling in the first 48
hours, and never mentions warning signs. <quote_B>Put a hot water bottle on it right away.</quote_B>
Chatbot A scores higher on criteria 1 and 2, and both are equally clear.
</eval>
"""

RMR1_REASONING_EVAL = """<type>Reasoning</type>
<solution>
We need the number of positive divisors of 360.
360 = 2^3 * 3^2 * 5, so the count is (3+1)(2+1)(1+1) = 24.
</solution>
<eval>
Chatbot A factors 360 as 2^3 * 3^2 * 5 and gets 24. <summary_A>Correct factorisation and
formula.</summary_A>
Chatbot B writes 360 = 2^2 * 3^2 * 10 and answers 18. <summary_B>The factorisation is not into
primes, so the count is wrong.</summary_B>
Chatbot A matches my solution.
</eval>
"""

RMR1_DISTILLED_THINK = """<think>
Okay, I need to decide which chatbot answered better. The client wants a haiku about autumn.
Chatbot A wrote 5-7-5 syllables. Let me count Chatbot B: "Crimson leaves drifting" is 5,
"softly on the quiet stream" is 7, "autumn whispers bye" is 5. Both are valid haiku.
A uses a cliché; B has a fresher image. I lean to B.
</think>
"""

RMR1_ZH = """<type>Chat</type>
<rubric>
1. 回答是否准确（50%）
2. 是否简洁明了（50%）
<justify>用户询问北京的时区，答案应当准确且简洁。</justify>
</rubric>
<eval>
Chatbot A 正确指出北京使用 UTC+8（中国标准时间）。Chatbot B 错误地说是 UTC+9。
</eval>
<answer>[[A]]</answer>"""

RMR1_DE = """<type>Chat</type>
<rubric>
1. Höflichkeit (30%)
2. Vollständigkeit der Antwort (70%)
<justify>Der Kunde möchte wissen, wie man einen Reisepass verlängert.</justify>
</rubric>
<eval>
Chatbot A nennt nur das Bürgeramt. Chatbot B nennt zusätzlich die nötigen Unterlagen
(Personalausweis, biometrisches Foto) und die Gebühr. Chatbot B ist vollständiger.
</eval>
<answer>[[B]]</answer>"""

RMR1_RU = """<think>
Клиент спрашивает, сколько будет 17 * 24. Правильный ответ 408.
Chatbot A отвечает 408, Chatbot B отвечает 418.
</think>
<type>Reasoning</type>
<solution>17 * 24 = 17 * 20 + 17 * 4 = 340 + 68 = 408.</solution>
<eval>Ответ Chatbot A совпадает с моим решением, ответ Chatbot B неверен.</eval>
<answer>[[A]]</answer>"""

RMR1_AR = """<type>Chat</type>
<rubric>
1. الدقة (60%)
2. الوضوح (40%)
<justify>السؤال عن عاصمة أستراليا.</justify>
</rubric>
<eval>
Chatbot A يقول إن العاصمة سيدني وهذا خطأ. Chatbot B يقول كانبرا وهذا صحيح.
</eval>
<answer>[[B]]</answer>"""

RMR1_LONG_100K = "<type>Chat</type>\n<eval>\n" + _LONG_PARAGRAPH * 340 + "</eval>\n<answer>[[A]]</answer>"

RMR1_CASES = [
    # --- full Chain-of-Rubrics outputs -------------------------------------------------------
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[A]]</answer>", 0, id="chat-rubric-answer-A"),
    pytest.param(RMR1_CHAT_EVAL.replace("Chatbot A scores higher", "Chatbot B scores higher")
                 + "<answer>[[B]]</answer>", 1, id="chat-rubric-answer-B"),
    pytest.param(RMR1_REASONING_EVAL + "<answer>[[A]]</answer>", 0, id="reasoning-solution-answer-A"),
    pytest.param(RMR1_REASONING_EVAL + "<answer>[[B]]</answer>\n", 1, id="reasoning-solution-answer-B-newline"),
    pytest.param(RMR1_DISTILLED_THINK + "\n" + RMR1_CHAT_EVAL + "<answer>[[B]]</answer>", 1,
                 id="distilled-think-then-rubric-B"),
    pytest.param(RMR1_DISTILLED_THINK.removeprefix("<think>\n") + RMR1_REASONING_EVAL + "<answer>[[A]]</answer>", 0,
                 id="think-opened-by-template-only-close-generated"),
    pytest.param("<answer>[[A]]</answer>", 0, id="bare-answer-A"),
    pytest.param("<answer>[[B]]</answer>", 1, id="bare-answer-B"),
    # --- accepted verdict shapes inside <answer> ---------------------------------------------
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[ b ]]</answer>", 1, id="lowercase-b-with-spaces"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[Chatbot A]]</answer>", 0, id="brackets-chatbot-A"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[chatbot b]]</answer>", 1, id="brackets-lowercase-chatbot-b"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>A</answer>", 0, id="bare-letter-A"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>b</answer>", 1, id="bare-lowercase-letter-b"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>Chatbot B</answer>", 1, id="bare-chatbot-B"),
    pytest.param(RMR1_CHAT_EVAL + "<answer> **A** </answer>", 0, id="bare-bold-letter"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[A]</answer>", 0, id="single-brackets-A"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>\n[[B]]\n</answer>", 1, id="newlines-inside-answer"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>The better response is [[B]].</answer>", 1, id="sentence-with-marker"),
    pytest.param(RMR1_CHAT_EVAL + "**<answer>[[B]]</answer>**", 1, id="markdown-bold-answer"),
    pytest.param(RMR1_CHAT_EVAL + "### Verdict\n\n**<answer>[[A]]</answer>**", 0, id="markdown-heading-and-bold"),
    pytest.param(RMR1_CHAT_EVAL + "```\n<answer>[[B]]</answer>\n```", 1, id="answer-in-code-fence"),
    pytest.param(RMR1_CHAT_EVAL + "<ANSWER>[[A]]</ANSWER>", 0, id="uppercase-answer-tag"),
    # --- the last <answer> decides ------------------------------------------------------------
    pytest.param(RMR1_CHAT_EVAL.replace("</eval>", "So far [[A]] looks better, but B's tone is warmer.\n</eval>")
                 + "<answer>[[B]]</answer>", 1, id="eval-mentions-A-answer-B"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[A]]</answer>\n\nWait, I misread Chatbot B's advice.\n"
                 "<answer>[[B]]</answer>", 1, id="two-answer-blocks-last-wins"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[A]] -- hold on, let me re-check criterion 2.\n"
                 "Chatbot B is safer.\n<answer>[[B]]</answer>", 1, id="unclosed-earlier-answer-then-closed"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[A]]</answer>\n\nChatbot A wins; [[B]] ignored heat risks.", 0,
                 id="marker-after-closed-answer-ignored"),
    pytest.param("<think>\nMaybe <answer>[[A]]</answer>?\n</think>\n" + RMR1_CHAT_EVAL + "<answer>[[B]]</answer>", 1,
                 id="answer-in-think-overridden-after"),
    # --- both / neither ------------------------------------------------------------------------
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[A]] [[B]]</answer>", None, id="both-markers-in-answer"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[A]] or [[B]]</answer>", None, id="both-markers-or"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>Chatbot A and Chatbot B</answer>", None, id="both-chatbots-bare"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[C]]</answer>", None, id="answer-C"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[Tie]]</answer>", None, id="answer-tie"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>Chatbot C</answer>", None, id="answer-chatbot-C"),
    pytest.param(RMR1_CHAT_EVAL + "<answer></answer>", None, id="empty-answer"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>Chatbot A's response is better.</answer>", None,
                 id="prose-answer-without-marker"),
    # --- no answer tag: the last line carrying a marker decides ------------------------------------
    pytest.param(RMR1_CHAT_EVAL + "\nTherefore, my final verdict is: [[B]]", 1, id="no-tag-final-verdict-line"),
    pytest.param(RMR1_CHAT_EVAL + "\nAt first [[A]] seemed right.\nAfter weighing safety: [[B]]\n\nDone.", 1,
                 id="no-tag-last-marker-line-wins"),
    pytest.param(RMR1_CHAT_EVAL + "\nComparing [[A]] vs [[B]]: I choose [[B]]", None,
                 id="no-tag-last-marker-line-has-both"),
    pytest.param(RMR1_CHAT_EVAL + "\nChatbot A is better.", None, id="no-tag-no-marker"),
    # --- truncation and thinking ----------------------------------------------------------------
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[B]]", 1, id="truncated-after-marker-unclosed-answer"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>[[", None, id="truncated-mid-marker"),
    pytest.param(RMR1_CHAT_EVAL + "<answer>", None, id="truncated-after-answer-open"),
    pytest.param(RMR1_CHAT_EVAL[:400], None, id="truncated-mid-rubric"),
    pytest.param(RMR1_DISTILLED_THINK[:300], None, id="truncated-inside-think"),
    pytest.param(RMR1_DISTILLED_THINK.replace("</think>", "So <answer>[[B]]</answer>"), None,
                 id="answer-inside-unclosed-think"),
    pytest.param("<think>\nChatbot A is correct. <answer>[[A]]</answer>\n</think>\n<type>Reasoning</type>\n"
                 "<solution>17 * 24 = 408</solution>\n<eval>Chatbot A gives 4", None, id="answer-only-in-think"),
    # --- other languages ---------------------------------------------------------------------------
    pytest.param(RMR1_ZH, 0, id="chinese-rubric"),
    pytest.param(RMR1_DE, 1, id="german-rubric"),
    pytest.param(RMR1_RU, 0, id="russian-think-and-solution"),
    pytest.param(RMR1_AR, 1, id="arabic-rubric"),
    # --- degenerate inputs ---------------------------------------------------------------------------
    pytest.param("", None, id="empty"),
    pytest.param(" \n\n\t ", None, id="only-whitespace"),
    pytest.param(RMR1_LONG_100K, 0, id="very-long-100k-chars"),
]


@pytest.mark.parametrize(("text", "expected"), RMR1_CASES)
def test_parse_verdict_rm_r1(text, expected):
    assert parse_verdict(text, "rm_r1") == expected


# The distilled judges write the same answer format (after a think block); they parse alike.
RMR1_DISTILLED_SUBSET = [
    case for case in RMR1_CASES
    if any(word in case.id for word in ("distilled", "think", "truncated", "both", "bare", "no-tag", "last"))
]


@pytest.mark.parametrize(("text", "expected"), RMR1_DISTILLED_SUBSET)
def test_parse_verdict_rm_r1_distilled(text, expected):
    assert parse_verdict(text, "rm_r1_distilled") == expected


def test_rm_r1_long_case_is_really_long():
    assert len(RMR1_LONG_100K) > 100_000
    assert len(RMR1_DISTILLED_SUBSET) >= 20


@pytest.mark.parametrize("fmt", ["principle", "RRM", "rm-r1", "", "pairwise_v2"])
def test_parse_verdict_unknown_format_names_it(fmt):
    with pytest.raises(ValueError, match=repr(fmt)):
        parse_verdict("\\boxed{Assistant 1} <answer>[[A]]</answer>", fmt)


@pytest.mark.parametrize("fmt", ["rrm", "rm_r1", "rm_r1_distilled"])
@pytest.mark.parametrize("text", [None, 1, b"\\boxed{Assistant 1}", ["<answer>[[A]]</answer>"]], ids=repr)
def test_parse_verdict_non_string_is_none(text, fmt):
    assert parse_verdict(text, fmt) is None


# =============================================================== principle / ranking

RANK_THINK = """<think>
The principle asks for concise answers. model-1 is accurate but rambles for three
paragraphs. model-2 is accurate and two sentences long. model-3 is short but wrong.
</think>
"""


def _ranking_json(k: int, best_first: list[int], score: dict[int, int]) -> str:
    scores = ", ".join(f'"model-{i}": {score[i]}' for i in range(1, k + 1))
    order = ", ".join(f'"model-{i}"' for i in best_first)
    return f'{{"scores": {{{scores}}}, "best-to-worst": [{order}]}}'


RANKING_CASES = [
    # --- valid answers -------------------------------------------------------------------------
    pytest.param('{"scores": {"model-1": 3, "model-2": 5}, "best-to-worst": ["model-2", "model-1"]}', 2,
                 ((1, 0), (3.0, 5.0)), id="k2-plain-json"),
    pytest.param(RANK_THINK + '\n{"scores": {"model-1": 3, "model-2": 5, "model-3": 1}, '
                 '"best-to-worst": ["model-2", "model-1", "model-3"]}', 3,
                 ((1, 0, 2), (3.0, 5.0, 1.0)), id="k3-after-think"),
    pytest.param("```json\n" + _ranking_json(4, [3, 1, 4, 2], {1: 4, 2: 1, 3: 5, 4: 2}) + "\n```", 4,
                 ((2, 0, 3, 1), (4.0, 1.0, 5.0, 2.0)), id="k4-code-fence"),
    pytest.param("Here is my evaluation of the two responses against the principle:\n\n"
                 '{"scores": {"model-1": 5, "model-2": 2}, "best-to-worst": ["model-1", "model-2"]}\n\nThanks!', 2,
                 ((0, 1), (5.0, 2.0)), id="k2-prose-preamble-and-tail"),
    pytest.param("{'scores': {'model-1': 2, 'model-2': 4, 'model-3': 3}, "
                 "'best-to-worst': ['model-2', 'model-3', 'model-1']}", 3,
                 ((1, 2, 0), (2.0, 4.0, 3.0)), id="k3-single-quotes"),
    pytest.param('{"scores": {"model-1": 2, "model-2": 4, "model-3": 3,}, '
                 '"best-to-worst": ["model-2", "model-3", "model-1",],}', 3,
                 ((1, 2, 0), (2.0, 4.0, 3.0)), id="k3-trailing-commas"),
    pytest.param('{scores: {"model-1": 1, "model-2": 4}, best_to_worst: ["model-2", "model-1"]}', 2,
                 ((1, 0), (1.0, 4.0)), id="k2-unquoted-keys"),
    pytest.param('{"scores": {"Model-1": 4, "model_2": 5, "MODEL 3": 2}, '
                 '"best-to-worst": ["model_2", "Model-1", "model 3"]}', 3,
                 ((1, 0, 2), (4.0, 5.0, 2.0)), id="k3-name-spellings"),
    pytest.param('{"scores": {"model-1": 2, "model-2": 5, "model-3": 4, "model-4": 1, "model-5": 3}}', 5,
                 ((1, 2, 4, 0, 3), (2.0, 5.0, 4.0, 1.0, 3.0)), id="k5-order-derived-from-scores"),
    pytest.param('{"best-to-worst": ["model-3", "model-1", "model-2"]}', 3,
                 ((2, 0, 1), None), id="k3-order-without-scores"),
    pytest.param('{"scores": {"model-1": 4, "model-2": 4, "model-3": 2}, '
                 '"best-to-worst": ["model-2", "model-1", "model-3"]}', 3,
                 ((1, 0, 2), (4.0, 4.0, 2.0)), id="k3-tied-scores-either-order"),
    pytest.param('{"scores": {"model-1": 4.5, "model-2": "3"}, "best-to-worst": ["model-1", "model-2"]}', 2,
                 ((0, 1), (4.5, 3.0)), id="k2-float-and-numeric-string"),
    pytest.param('Draft: {"scores": {"model-1": 5, "model-2": 1}}\n\nOn reflection model-2 follows the '
                 'principle better.\n{"scores": {"model-1": 2, "model-2": 4}, "best-to-worst": ["model-2", "model-1"]}',
                 2, ((1, 0), (2.0, 4.0)), id="k2-last-valid-object-wins"),
    pytest.param('{"scores": {"model-1": 2, "model-2": 4}, "best-to-worst": ["model-2", "model-1"]}\n'
                 'Correction: {"scores": {"model-1": 2, "model-2": 9}}', 2,
                 ((1, 0), (2.0, 4.0)), id="k2-invalid-last-object-skipped"),
    pytest.param(_ranking_json(6, [6, 5, 4, 3, 2, 1], {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5}), 6,
                 ((5, 4, 3, 2, 1, 0), (1.0, 1.0, 2.0, 3.0, 4.0, 5.0)), id="k6-reversed"),
    pytest.param(RANK_THINK + "```json\n" + _ranking_json(
        10, [7, 2, 9, 1, 10, 4, 3, 8, 5, 6], {7: 5, 2: 5, 9: 4, 1: 4, 10: 4, 4: 3, 3: 3, 8: 2, 5: 2, 6: 1}) + "\n```",
                 10, ((6, 1, 8, 0, 9, 3, 2, 7, 4, 5), (4.0, 5.0, 3.0, 3.0, 2.0, 1.0, 5.0, 2.0, 4.0, 4.0)),
                 id="k10-think-and-fence"),
    pytest.param('{"scores": {"model-1": 3, "model-2": 4}, "best-to-worst": ["model-2", "model-1"], '
                 '"reason": "model-2 uses {braces} and a \\"quote\\""}', 2,
                 ((1, 0), (3.0, 4.0)), id="k2-braces-and-quotes-inside-strings"),
    # --- rejections --------------------------------------------------------------------------------
    pytest.param('{"scores": {"model-1": 3, "model-2": 5}, "best-to-worst": ["model-2", "model-1"]}', 3,
                 None, id="k3-name-missing"),
    pytest.param('{"best-to-worst": ["model-2", "model-2", "model-1"]}', 3, None, id="k3-order-duplicate"),
    pytest.param('{"scores": {"model-1": 3, "model_1": 4}}', 2, None, id="k2-duplicate-name-by-spelling"),
    pytest.param('{"scores": {"model-1": 3, "model-4": 4, "model-2": 2}}', 3, None, id="k3-name-out-of-range"),
    pytest.param('{"scores": {"model-0": 3, "model-1": 4}}', 2, None, id="k2-model-0"),
    pytest.param('{"scores": {"response-1": 3, "response-2": 4}}', 2, None, id="k2-wrong-names"),
    pytest.param('{"scores": {"model-1": 6, "model-2": 4}}', 2, None, id="k2-score-above-5"),
    pytest.param('{"scores": {"model-1": 0, "model-2": 4}}', 2, None, id="k2-score-below-1"),
    pytest.param('{"scores": {"model-1": "excellent", "model-2": 4}}', 2, None, id="k2-score-not-numeric"),
    pytest.param('{"scores": {"model-1": true, "model-2": 4}}', 2, None, id="k2-score-bool"),
    pytest.param('{"scores": {"model-1": NaN, "model-2": 4}}', 2, None, id="k2-score-nan"),
    pytest.param('{"scores": {"model-1": null, "model-2": 4}}', 2, None, id="k2-score-null"),
    pytest.param('{"best-to-worst": ["model-1", "model-2"]}', 3, None, id="k3-order-not-permutation"),
    pytest.param('{"scores": {"model-1": 5, "model-2": 2}, "best-to-worst": ["model-2", "model-1"]}', 2,
                 None, id="k2-order-contradicts-scores"),
    pytest.param('{"scores": {"model-1": 5, "model-2": 2}, "best-to-worst": "model-1 > model-2"}', 2,
                 None, id="k2-order-not-a-list"),
    pytest.param('{"scores": [5, 2], "best-to-worst": ["model-1", "model-2"]}', 2, None, id="k2-scores-not-a-dict"),
    pytest.param(RANK_THINK.replace("</think>", '{"best-to-worst": ["model-2", "model-1", "model-3"]}\n</think>')
                 + "\nAll three are acceptable.", 3, None, id="k3-json-only-inside-think"),
    pytest.param('<think>\n{"best-to-worst": ["model-2", "model-1"]}', 2, None, id="k2-unclosed-think"),
    pytest.param('{"scores": {"model-1": 3, "model-2": 5}, "best-to-worst": ["model-2", "mod', 2, None,
                 id="k2-truncated-json"),
    pytest.param("model-2 is best, then model-1.", 2, None, id="k2-no-json"),
    pytest.param('{"other": 1}', 2, None, id="k2-no-ranking-fields"),
    pytest.param("", 2, None, id="k2-empty"),
    pytest.param("{[1]: 2}", 2, None, id="python-literal-unhashable-key"),
    pytest.param('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}", 2, None, id="absurdly-deep-nesting"),
    pytest.param('{"scores": {"model-1": ' + "9" * 400 + ', "model-2": 3}}', 2, None, id="400-digit-score"),
]


@pytest.mark.parametrize(("text", "k", "expected"), RANKING_CASES)
def test_parse_ranking(text, k, expected):
    ranking = parse_ranking(text, k)
    if expected is None:
        assert ranking is None
    else:
        assert isinstance(ranking, Ranking)
        assert (ranking.order, ranking.scores) == expected
        assert ranking.raw == (text,)


@pytest.mark.parametrize("k", range(2, 11))
def test_parse_ranking_every_k(k):
    rng = random.Random(k)
    order = list(range(1, k + 1))
    rng.shuffle(order)
    score = {name: 5 - (4 * rank) // k for rank, name in enumerate(order)}
    text = RANK_THINK + "Final answer:\n" + _ranking_json(k, order, score)
    ranking = parse_ranking(text, k)
    assert ranking.order == tuple(name - 1 for name in order)
    assert ranking.scores == tuple(float(score[i]) for i in range(1, k + 1))
    assert parse_ranking(text, k + 1) is None  # a missing model is not a ranking


@pytest.mark.parametrize("k", [1, 0, -3])
def test_parse_ranking_k_below_2_raises(k):
    with pytest.raises(ValueError, match="k="):
        parse_ranking('{"best-to-worst": ["model-1"]}', k)


@pytest.mark.parametrize("text", [None, 7, b'{"best-to-worst": ["model-1", "model-2"]}'], ids=repr)
def test_parse_ranking_non_string_is_none(text):
    assert parse_ranking(text, 2) is None


# ============================================================ final_answer_text / strip_think


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain answer", "plain answer", id="no-tags"),
        pytest.param("<think>a</think>b", "b", id="closed"),
        pytest.param("a</think>b</think>c", "c", id="last-close-wins"),
        pytest.param("<think>never closed", None, id="unclosed"),
        pytest.param("", "", id="empty"),
    ],
)
def test_final_answer_text(text, expected):
    assert final_answer_text(text) == expected


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        pytest.param("The answer is 4.", "leading", "The answer is 4.", id="no-tags"),
        pytest.param("<think>2+2</think>\n\nThe answer is 4.", "leading", "The answer is 4.", id="closed"),
        pytest.param("2+2 is...</think> The answer is 4. ", "template", "The answer is 4.", id="template-opened"),
        pytest.param("  <think>let me think about", "leading", "", id="leading-unclosed-is-all-reasoning"),
        pytest.param("no close tag at all", "template", "", id="template-unclosed-is-all-reasoning"),
        pytest.param("Sure. <think>let me think about", "leading", "Sure. <think>let me think about", id="stray-open"),
        pytest.param("2+2 is...</think> 4", "leading", "2+2 is...</think> 4", id="stray-close"),
    ],
)
def test_strip_think(text, mode, expected):
    assert strip_think(text, mode) == expected


# =================================================================== never raises (fuzz)

_FRAGMENTS = [
    "\\boxed{", "\\boxed {", "}", "{", "}}", "Assistant 1", "Assistant 2", "Assistant", "assistant 3",
    "\\text{", "\\textbf{", "~", "\\ ", "\\", "1", "2", "<answer>", "</answer>", "<ANSWER>", "[[A]]", "[[B]]",
    "[[", "]]", "[[ b ]]", "Chatbot A", "Chatbot B", "A", "B", '"scores"', '"best-to-worst"', "'model-1'",
    '"model-1"', '"model-2"', "model_3", ":", ",", "[", "]", '"', "'", "5", "6", "-1", "1e999", "NaN", "true",
    "null", "```json", "```", "\\frac{1}{2}", "\n", " ", "\t", "é", "助手2", "Ассистент", "مساعد", "\u202e",
    "\x00", "\ud800", "🙂", "9" * 30,
]
_THINK_FRAGMENTS = ["<think>", "</think>", "<think>\n", "\n</think>\n"]


def _garbage(rng: random.Random, fragments: list[str]) -> str:
    parts = []
    for _ in range(rng.randrange(0, 40)):
        if rng.random() < 0.15:
            parts.append(chr(rng.randrange(0x20, 0x3000)))
        else:
            parts.append(rng.choice(fragments))
    return "".join(parts)


def _check_ranking(ranking, k):
    if ranking is None:
        return
    assert isinstance(ranking, Ranking)
    assert sorted(ranking.order) == list(range(k))
    if ranking.scores is not None:
        assert len(ranking.scores) == k
        assert all(1.0 <= s <= 5.0 and not math.isnan(s) for s in ranking.scores)
        ordered = [ranking.scores[i] for i in ranking.order]
        assert ordered == sorted(ordered, reverse=True)


def test_random_garbage_never_raises():
    rng = random.Random(0)
    fragments = _FRAGMENTS + _THINK_FRAGMENTS
    seen = {fmt: set() for fmt in ("rrm", "rm_r1", "rm_r1_distilled")}
    for _ in range(3000):
        text = _garbage(rng, fragments)
        for fmt, results in seen.items():
            verdict = parse_verdict(text, fmt)
            assert verdict in (0, 1, None), (fmt, text)
            results.add(verdict)
        for k in (2, 3):
            _check_ranking(parse_ranking(text, k), k)
        assert isinstance(strip_think(text), str)
    # The garbage is rich enough to reach every outcome, so this test can fail.
    assert all(results == {0, 1, None} for results in seen.values()), seen


# ast.literal_eval warns about invalid escapes such as "\\s" in the mutated strings.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_mutated_rankings_never_raise_and_stay_valid():
    """Random edits of a valid answer: parsed or None, never an invalid Ranking or an error."""
    rng = random.Random(0)
    base = RANK_THINK + "```json\n" + _ranking_json(3, [2, 1, 3], {1: 3, 2: 5, 3: 1}) + "\n```"
    inserts = ["{", "}", "[", "]", ",", ":", "'", '"', "\\", "model-4", "model_1", "9" * 400, "NaN", "6",
               "true", "null", "</think>", "<think>", "{[1]: 2}", '"best-to-worst": ', "\n"]
    outcomes = set()
    for _ in range(2000):
        text = base
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(text) + 1)
            if rng.random() < 0.5:
                text = text[:pos] + text[pos + rng.randrange(1, 4):]
            else:
                text = text[:pos] + rng.choice(inserts) + text[pos:]
        for k in (2, 3):
            ranking = parse_ranking(text, k)
            _check_ranking(ranking, k)
            outcomes.add((k, ranking is None))
    assert {(3, True), (3, False)} <= outcomes  # both outcomes reached: the check can fail


def test_thinking_never_changes_the_verdict():
    """Metamorphic: wrapping garbage in a closed think block before an answer is neutral."""
    rng = random.Random(0)
    for _ in range(1000):
        thinking = _garbage(rng, _FRAGMENTS)
        answer = _garbage(rng, _FRAGMENTS)
        for fmt in ("rrm", "rm_r1"):
            expected = parse_verdict(answer, fmt)
            assert parse_verdict("<think>" + thinking + "</think>" + answer, fmt) == expected, (fmt, thinking, answer)
            assert parse_verdict(thinking + "</think>" + answer, fmt) == expected, (fmt, thinking, answer)
            assert parse_verdict(answer + "<think>" + thinking, fmt) is None
