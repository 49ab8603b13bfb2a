"""The rows that score verdict labels, and the log-probabilities read off their logits.

``HFJudge.score`` builds its rows here, and so does scoring in the same pass as the
analysis (``GenerationRequest.then_score``), so both read a label's log-probability the
same way:

- ``label_rows``: the context's token ids and each label's; tokens every label shares
  (" 1"/" 2" -> " ", "1"/"2") add the same log-prob to each and move into the context,
  which usually leaves one token per label: then one row scores all labels from its last
  position, otherwise each label gets its own row.
- ``label_values``: each label's summed log-probability from the kept logits of a batch
  whose rows are right-aligned (positions counted from the end).
- ``reusable``: how many leading tokens of a row a cached row already holds: the common
  prefix of their ids, stopped before the first position the row must compute.
"""

from __future__ import annotations

from typing import Any

# (request, token ids, [(label, label token ids, position predicting its first token)])
LabelRow = tuple[int, list[int], list[tuple[int, list[int], int]]]


def label_rows(tokenizer: Any, request: int, context: list[int], candidates: tuple[str, ...]) -> list[LabelRow]:
    """The rows that score ``candidates`` after ``context`` (token ids).

    Raises:
        ValueError: a label tokenizes to nothing.
    """
    labels = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in candidates]
    if any(not ids for ids in labels):
        raise ValueError(f"a verdict label of {candidates!r} tokenizes to nothing")
    shared = 0
    while all(len(ids) > shared + 1 and ids[shared] == labels[0][shared] for ids in labels):
        shared += 1
    context, labels = context + labels[0][:shared], [ids[shared:] for ids in labels]
    if all(len(ids) == 1 for ids in labels):
        return [(request, context, [(c, ids, len(context) - 1) for c, ids in enumerate(labels)])]
    return [(request, context + ids, [(c, ids, len(context) - 1)]) for c, ids in enumerate(labels)]


def kept_positions(batch: list[LabelRow]) -> int:
    """Positions (from the end) whose logits a batch needs: the longest label run."""
    return max(len(ids) - first for _, ids, queries in batch for _, _, first in queries)


def label_values(logprobs: Any, keep: int, batch: list[LabelRow]) -> list[tuple[int, int, float]]:
    """(request, label, summed log-prob) for every label of ``batch``; ``logprobs`` holds
    the last ``keep`` positions of each row, rows right-aligned."""
    import torch

    values = []
    for row, (r, ids, queries) in enumerate(batch):
        for c, targets, first in queries:
            at = keep - (len(ids) - first)  # kept index of the position predicting targets[0]
            predicted = logprobs[row, at : at + len(targets)]
            index = torch.tensor(targets, device=logprobs.device)[:, None]
            values.append((r, c, predicted.gather(-1, index).sum().item()))
    return values


def reusable(row: LabelRow, cached: list[int]) -> int:
    """Leading tokens of ``row`` that a cache holding ``cached`` (ids) already computed;
    never the positions whose logits the row reads."""
    _, ids, queries = row
    limit = min(min(first for _, _, first in queries), len(cached))
    n = 0
    while n < limit and ids[n] == cached[n]:
        n += 1
    return n


__all__ = ["LabelRow", "kept_positions", "label_rows", "label_values", "reusable"]
