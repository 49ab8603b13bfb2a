"""Borrowing a model that someone else is training.

A judge that is a LoRA adapter on the policy's own base weights (or the bare base with
adapters disabled) runs *inside* the trainer's reward call, on the very model the
optimizer is updating. Switching adapters in PEFT has side effects: ``set_adapter``
changes which adapter is trainable, ``load_adapter(..., is_trainable=False)`` puts the
whole model in eval(). ``borrowed`` snapshots everything a switch can touch and puts it
back in a ``finally``, also when generation raises.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator

import torch

logger = logging.getLogger(__name__)


def _is_peft_model(model: torch.nn.Module) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(model, PeftModel)


def active_adapters(model: torch.nn.Module) -> list[str]:
    """Names of the active adapters of a PeftModel ([] for any other model)."""
    if not _is_peft_model(model):
        return []
    return list(model.active_adapters)


def adapter_names(model: torch.nn.Module) -> list[str]:
    return list(getattr(model, "peft_config", {}) or {})


@contextlib.contextmanager
def borrowed(model: torch.nn.Module, adapter_name: str | None = None, disable_adapters: bool = False) -> Iterator[None]:
    """Runs the block with the judge's adapter active and the model in eval mode.

    On exit, whatever happened inside, restores: the active adapter(s), every
    parameter's ``requires_grad``, and every module's ``training`` flag.

    Args:
        model: the shared model (a ``PeftModel`` when an adapter is named or disabled).
        adapter_name: the judge's adapter; None keeps the active one.
        disable_adapters: judge with the bare base weights (all adapters off).
    """
    training = [(module, module.training) for module in model.modules()]
    grads = [(param, param.requires_grad) for param in model.parameters()]
    previous = active_adapters(model)
    with contextlib.ExitStack() as stack:
        try:
            if disable_adapters:
                stack.enter_context(model.disable_adapter())
            elif adapter_name is not None and previous != [adapter_name]:
                model.set_adapter(adapter_name, inference_mode=True)
            model.eval()
            yield
        finally:
            stack.close()
            if active_adapters(model) != previous and previous:
                if len(previous) == 1:
                    model.set_adapter(previous[0])
                else:  # several active adapters: only the tuner layer takes a list
                    model.base_model.set_adapter(previous)
            for param, requires_grad in grads:
                param.requires_grad_(requires_grad)
            for module, mode in training:
                module.training = mode
            known = {id(module) for module, _ in training}
            for module in model.modules():  # added inside (a loaded adapter): follow the model
                if id(module) not in known:
                    module.training = model.training


def same_base(expected: str | None, base_name: str) -> bool:
    """Whether ``base_name`` is the model an adapter was trained on: the same name, or a
    local copy whose folder records it (``trl_rrm.embedded`` writes ``trl_rrm_source.json``)."""
    if not expected:
        return True
    names = {os.path.basename(os.path.normpath(base_name))}
    try:
        with open(os.path.join(base_name, "trl_rrm_source.json")) as f:
            source = json.load(f)
        names.update(str(v) for v in source.values() if isinstance(v, str))
    except (OSError, ValueError):
        pass
    return os.path.basename(os.path.normpath(expected)) in {os.path.basename(os.path.normpath(n)) for n in names} or expected in names


def warn_if_other_base(adapter: str | os.PathLike, expected: str | None, base_name: str) -> None:
    """Logs a warning when ``adapter`` was trained on another base than ``base_name``
    (nothing when the model does not know its name)."""
    if base_name and not same_base(expected, base_name):
        logger.warning("adapter %r was trained on %r, loading it on %r", os.fspath(adapter), expected, base_name)


def attach_adapter(model: torch.nn.Module, *, adapter_name: str | None, adapter: str | os.PathLike | None,
                   disable_adapters: bool) -> str | None:  # fmt: skip
    """Checks the judge's adapter choice on ``model`` and loads ``adapter`` (frozen, the
    model's modes kept) under ``adapter_name`` (default ``"judge"``); returns the name.

    Raises:
        ValueError: an adapter is named but the model is not a PeftModel, the name is
            unknown or already loaded, the adapter does not fit, or both ``adapter_name``
            and ``disable_adapters``.
    """
    if adapter_name is not None and disable_adapters:
        raise ValueError(f"adapter_name={adapter_name!r} and disable_adapters=True exclude each other")
    if (adapter_name is not None or adapter is not None or disable_adapters) and not _is_peft_model(model):
        raise ValueError(
            f"adapter_name/adapter/disable_adapters need a peft.PeftModel, got {type(model).__name__}; "
            "wrap the model with peft.get_peft_model first"
        )
    if adapter is not None:
        adapter_name = adapter_name or "judge"
        if adapter_name in adapter_names(model):
            raise ValueError(f"adapter_name={adapter_name!r} is already loaded in the model")
        try:
            from peft import PeftConfig

            expected = getattr(PeftConfig.from_pretrained(os.fspath(adapter)), "base_model_name_or_path", None)
        except Exception:  # load_adapter below names what is wrong with it
            expected = None
        warn_if_other_base(adapter, expected, str(getattr(model.get_base_model().config, "_name_or_path", "") or ""))
        with borrowed(model):  # load_adapter(is_trainable=False) would leave the model in eval()
            try:
                model.load_adapter(os.fspath(adapter), adapter_name=adapter_name, is_trainable=False)
            except (RuntimeError, ValueError, KeyError, OSError) as err:
                raise ValueError(f"adapter={os.fspath(adapter)!r} does not fit the model: {err}") from err
    elif adapter_name is not None and adapter_name not in adapter_names(model):
        raise ValueError(f"adapter_name={adapter_name!r} is not loaded; the model has {adapter_names(model)}")
    return adapter_name
