"""Which prompt tokens of a batch are computed once and shared. Pure Python, no torch.

Rows of a judging batch are sorted by their tokens, so neighbours share long prefixes:
every row starts with the judge's system prompt, the matches of a group share its query,
and in a round robin or with both orders also the first response. ``plan_prefix`` finds
two levels of sharing: ``shared`` tokens common to every row (computed once), then
clusters of neighbouring rows whose next ``extend`` tokens are common to the cluster
(computed once per cluster). The backend turns the plan into a key/value cache
(``trl_rrm.judges.hf.kv_cache.prefilled``).
"""

from __future__ import annotations

from dataclasses import dataclass

# A shared prefix shorter than this is recomputed with each row: not worth a separate pass.
MIN_SHARED_PREFIX = 16


@dataclass
class PrefixPlan:
    """Prompt sharing in one batch: ``shared`` leading tokens common to all rows;
    ``clusters`` of row indices whose next ``extend[row]`` tokens are common to the
    cluster (0 for rows outside every cluster)."""

    shared: int
    clusters: list[list[int]]
    extend: list[int]

    @property
    def width(self) -> int:
        """The longest cluster extension (extensions are right-padded to it)."""
        return max((self.extend[c[0]] for c in self.clusters), default=0)

    @property
    def cached(self) -> int:
        """Positions per row held in the prefilled cache."""
        return self.shared + self.width

    @property
    def saved(self) -> int:
        """Prompt tokens the rows do not compute themselves, less those computed once."""
        return self.shared * (len(self.extend) - 1) + sum(self.extend[c[0]] * (len(c) - 1) for c in self.clusters)

    def cost(self, prompts: list[list[int]]) -> int:
        """Token positions run through the model for the prompts, padding included."""
        tail = max(len(p) - self.shared - e for p, e in zip(prompts, self.extend))
        return self.shared + len(self.clusters) * self.width + len(prompts) * tail


def common_length(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def plan_prefix(prompts: list[list[int]], keep: int = 1) -> PrefixPlan | None:
    """How this batch's prompt tokens are shared, or None (each row computes its own).

    Every row computes at least its last ``keep`` positions itself (their logits start
    decoding or score the labels). Among clusterings by a minimum extension length, the
    one computing the fewest token positions (padding included) is kept, the one-level
    plan among them.
    """
    n = len(prompts)
    if n < 2:
        return None
    room = [len(p) - keep for p in prompts]
    first, limit = prompts[0], min(room)
    shared = 0
    while shared < limit and all(p[shared] == first[shared] for p in prompts):
        shared += 1
    if shared < MIN_SHARED_PREFIX:
        shared = 0
    adjacent = [common_length(prompts[i], prompts[i + 1]) for i in range(n - 1)]
    flat = PrefixPlan(shared, [], [0] * n)
    best, best_cost = flat, flat.cost(prompts)
    for minimum in (MIN_SHARED_PREFIX // 2, MIN_SHARED_PREFIX, 2 * MIN_SHARED_PREFIX, 4 * MIN_SHARED_PREFIX):
        clusters, extend = [], [0] * n
        i = 0
        while i < n:
            j, length = i, room[i] - shared
            while j + 1 < n and min(length, adjacent[j] - shared, room[j + 1] - shared) >= minimum:
                length = min(length, adjacent[j] - shared, room[j + 1] - shared)
                j += 1
            if j > i:
                clusters.append(list(range(i, j + 1)))
                extend[i : j + 1] = [length] * (j + 1 - i)
            i = j + 1
        if clusters:
            plan = PrefixPlan(shared, clusters, extend)
            cost = plan.cost(prompts)
            if cost < best_cost:
                best, best_cost = plan, cost
    return best if best.shared or best.clusters else None
