"""Loading a judge with transformers: tokenizer, weights, quantization, LoRA adapter.

The one place that calls ``from_pretrained`` for a judge. bitsandbytes is imported only
when 4/8-bit is asked for, so the package imports without it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ...precision import auto_dtype
from .adapters import warn_if_other_base
from .config import HFJudgeConfig, HFLoadConfig

logger = logging.getLogger(__name__)

_SPREAD_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")  # device_maps that place layers themselves


def default_device(config: HFLoadConfig) -> str:
    return config.device or ("cuda" if torch.cuda.is_available() else "cpu")


def load_dtype(config: HFLoadConfig) -> Any:
    """The ``from_pretrained`` dtype: an explicit one as given; ``"auto"`` on CPU bfloat16
    where the CPU computes it natively, else float32 (``trl_rrm.precision.auto_dtype``);
    ``"auto"`` elsewhere stays the checkpoint's own dtype."""
    if config.dtype != "auto":
        return _torch_dtype(config.dtype)
    device_map = config.device_map
    if isinstance(device_map, dict) and len({str(d) for d in device_map.values()}) == 1:
        device = str(next(iter(device_map.values())))  # {"": "cpu"}: one device
    elif isinstance(device_map, str) and device_map not in _SPREAD_MAPS:
        device = device_map
    else:
        device = default_device(config)
    return _torch_dtype(auto_dtype(device))


def _torch_dtype(name: str) -> Any:
    """``torch.<name>`` for a name of ``config.DTYPES`` (``"auto"`` stays a string)."""
    return name if name == "auto" else getattr(torch, name)


def check_chat_template(tokenizer: Any) -> None:
    """Raises a ValueError naming the tokenizer when it has no chat template."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"the judge tokenizer {getattr(tokenizer, 'name_or_path', tokenizer)!r} has no chat_template; "
            "a judge needs one (set tokenizer.chat_template)"
        )


def load_judge(config: HFJudgeConfig) -> tuple[Any, Any]:
    """(model, tokenizer) for ``config``: eval mode, frozen, on its device; a LoRA adapter
    merged into the weights (``merge_adapter``, unless quantized).

    Raises:
        ImportError: 4/8-bit asked for without bitsandbytes.
        ValueError: no chat template; an adapter that is not a PEFT adapter or does not
            fit the base.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = load_dtype(config)
    common = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
    has_own_tokenizer = config.adapter and os.path.isfile(os.path.join(config.adapter, "tokenizer_config.json"))
    tokenizer = AutoTokenizer.from_pretrained(config.adapter if has_own_tokenizer else config.model, **common)
    check_chat_template(tokenizer)
    kwargs: dict[str, Any] = dict(common, dtype=dtype)
    quantization = _quantization_config(config, dtype)
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    device_map = config.device_map
    if device_map is None and quantization is not None:
        device_map = {"": default_device(config)}
    if device_map is not None:
        kwargs["device_map"] = device_map
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    model = AutoModelForCausalLM.from_pretrained(config.model, **kwargs)
    if config.adapter:
        model = wrap_with_adapter(model, config.adapter, config.model)
        if config.merge_adapter and quantization is None:
            # its own frozen weights: W + BA once, not three matmuls and two casts a layer every step
            model = model.merge_and_unload()
    if device_map is None:
        model.to(default_device(config))
    model.eval()
    model.requires_grad_(False)
    logger.info("loaded judge %s%s", config.model, f" + {config.adapter}" if config.adapter else "")
    return model, tokenizer


def _quantization_config(config: HFLoadConfig, dtype: Any) -> Any:
    if not (config.load_in_4bit or config.load_in_8bit):
        return None
    try:
        import bitsandbytes  # noqa: F401  (only to fail early with an actionable message)
    except ImportError:
        raise ImportError("load_in_4bit/load_in_8bit need bitsandbytes: pip install 'trl-rrm[quantization]'") from None
    from transformers import BitsAndBytesConfig

    if config.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = dtype if isinstance(dtype, torch.dtype) else torch.bfloat16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)


def wrap_with_adapter(model: Any, adapter: str, base_name: str) -> Any:
    """``model`` (a plain transformers model) wrapped in a PeftModel with the LoRA
    ``adapter`` loaded, frozen; a warning when the adapter names another base.
    (``adapters.attach_adapter`` loads one into a model that is a PeftModel already.)

    Raises:
        ValueError: not a loadable PEFT adapter, or it does not fit the base.
    """
    from peft import PeftConfig, PeftModel

    try:
        peft_config = PeftConfig.from_pretrained(adapter)
    except Exception as err:
        raise ValueError(f"adapter={adapter!r} is not a loadable PEFT adapter: {err}") from err
    warn_if_other_base(adapter, getattr(peft_config, "base_model_name_or_path", None), base_name)
    try:
        return PeftModel.from_pretrained(model, adapter, is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as err:
        raise ValueError(f"adapter={adapter!r} does not fit the base model {base_name!r}: {err}") from err
