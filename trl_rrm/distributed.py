"""The few collective operations the reward needs, as no-ops in a single process.

Under accelerate or torchrun every rank holds a slice of the batch, and a group of
completions can straddle two ranks. The reward gathers all items everywhere, gives each
rank about 1/world of each round's judging, and gathers the verdicts back, so every rank
computes identical scores. These helpers use ``torch.distributed`` object collectives,
which work with gloo (CPU) and NCCL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) when torch.distributed is not initialized."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a dependency
        return 0, 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` in a single process)."""
    rank, size = world()
    if size == 1:
        return [obj]
    import torch.distributed as dist

    gathered: list[Any] = [None] * size
    dist.all_gather_object(gathered, obj)
    return gathered


def sharded_map(fn: Callable[[list[T]], list[R]], items: Sequence[T]) -> list[R]:
    """Applies a batch function to ``items`` with the work split across ranks.

    Rank r takes items r, r + world, r + 2*world, ... (strided, so ranks get near-equal
    shares even when items are sorted by cost), calls ``fn`` ONCE on its share (also
    when the share is empty: every rank must reach the gather), and the results are
    gathered and put back in item order on every rank.
    """
    rank, size = world()
    if size == 1:
        return fn(list(items))
    mine = fn(list(items[rank::size]))
    if len(mine) != len(items[rank::size]):
        raise RuntimeError(f"batch function returned {len(mine)} results for {len(items[rank::size])} items")
    shares = all_gather(mine)
    merged: list[Any] = [None] * len(items)
    for r, share in enumerate(shares):
        merged[r::size] = share
    return merged
