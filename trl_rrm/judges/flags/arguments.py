"""``JudgeArguments``: the judge options as ``judge_*`` flags, generated from the configs.

The fields are in ``generated.py`` (``JudgeFlags``), a file generated from the configs
by ``python -m trl_rrm.judges.flags.arguments`` (a test fails when it is stale); this module
adds what the arguments do.

The recipes read them with TRL's parser (``TrlParser((RecipeConfig, JudgeArguments,
GRPOConfig))``: YAML keys and ``--judge_<name>`` flags) and ``trl-rrm label`` / ``eval``
with the same parser class (``--judge-<name>`` works too). Nothing is declared twice:
every field below is a field of ``HFJudgeConfig`` or ``ServerConfig`` with ``judge_`` in
front, with its default and help; ``--judge`` is short for ``--judge_model``, and the
server's ``model`` is ``--judge_server_model``.

``JudgeArguments.build(policy, tokenizer)`` makes the judge they describe:
``judge_base_url`` -> ``OpenAIJudge`` (checked now); ``judge_model`` -> ``HFJudge``
(``embedded``: the embedded SmolLM2); neither -> an ``HFJudge`` on the policy's own
weights, with ``judge_adapter`` loaded as the adapter ``judge`` (or the bare base).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..config import JudgingConfig, SpeedConfig
from ..hf.config import HFLoadConfig, HFSpeedConfig
from ..served.openai import ServerConfig
from .generated import JudgeFlags

PREFIX = "judge_"
# ServerConfig's fields worth a flag, by flag name (the rest stay Python-only: OpenAIJudgeConfig).
_SERVER_FLAGS = {"base_url": "base_url", "server_model": "model", "api_key": "api_key",
                 "max_concurrency": "max_concurrency", "timeout": "timeout", "retries": "retries"}  # fmt: skip
# Fields whose type a flag cannot carry: the flag takes a string.
_AS_STRING = {"device_map"}


def _fields() -> list[tuple[str, Any, dataclasses.Field]]:
    out = []
    groups = (HFLoadConfig, JudgingConfig, HFSpeedConfig)
    # an old option name is an alias of its new flag, not a flag of its own
    aliases = {f.metadata["alias_of"]: f"--{PREFIX}{f.name}" for g in groups for f in dataclasses.fields(g) if "alias_of" in f.metadata}
    for group in groups:
        for f in dataclasses.fields(group):
            if "alias_of" in f.metadata:
                continue
            metadata = dict(f.metadata)
            if f.name in aliases:
                metadata["aliases"] = [aliases[f.name]]
            if f.name == "model":
                metadata = {**metadata, "aliases": ["--judge"], "help": "judge model id or path ('embedded': the "
                            "embedded SmolLM2-135M-Instruct; unset in a recipe: the policy's own base)"}  # fmt: skip
            kind = str | None if f.name in _AS_STRING else f.type
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append((PREFIX + f.name, kind, dataclasses.field(default=default, metadata=metadata)))
    server = {f.name: f for f in dataclasses.fields(ServerConfig)}
    for flag, name in _SERVER_FLAGS.items():
        f = server[name]
        kind = list[str] | None if name == "base_url" else f.type  # one URL or several: a list on the command line
        out.append((PREFIX + flag, kind, dataclasses.field(default=f.default, metadata=dict(f.metadata))))
    return out


def _values(self: Any, *groups: type) -> dict[str, Any]:
    names = {f.name for group in groups for f in dataclasses.fields(group) if "alias_of" not in f.metadata}
    return {name: getattr(self, PREFIX + name) for name in names}


def flags_source() -> str:
    """The source of ``generated.py``: one field per option of the configs, with its
    type, default and help (``_fields``)."""
    lines = [
        '"""The judge options as ``judge_*`` fields. GENERATED from HFLoadConfig, JudgingConfig,',
        "HFSpeedConfig and ServerConfig by ``python -m trl_rrm.judges.flags.arguments``: do not edit;",
        'change the configs and regenerate. ``JudgeArguments`` (``arguments.py``) adds what they do."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, field",
        "",
        "",
        "@dataclass",
        "class JudgeFlags:",
        '    """The fields of ``JudgeArguments``."""',
        "",
    ]
    for name, kind, f in _fields():
        kind = kind if isinstance(kind, str) else str(kind).replace("typing.", "")
        lines.append(f"    {name}: {kind} = field(")
        lines.append(f"        default={f.default!r},")
        lines.append(f"        metadata={dict(f.metadata)!r},")
        lines.append("    )  # fmt: skip")
    return "\n".join(lines) + "\n"


@dataclass
class JudgeArguments(JudgeFlags):
    """The judge options as ``judge_*`` flags (see the module doc); ``build`` makes the judge."""

    def build(self, policy: Any = None, tokenizer: Any = None) -> Any:
        """The judge these arguments describe (see the module doc).

        Raises:
            ValueError: neither a judge model, a server nor a policy to share; or a bad option.
        """
        judging = _values(self, JudgingConfig, SpeedConfig)
        if self.judge_base_url:
            from ..served.openai import OpenAIJudge

            server = {name: getattr(self, PREFIX + flag) for flag, name in _SERVER_FLAGS.items() if name not in ("base_url", "model")}
            judge = OpenAIJudge(self.judge_base_url, model=self.judge_server_model, **server, **judging)
            judge.check()  # unreachable server, unknown model, a 4xx: fail now, before any work
            return judge
        from ..hf.judge import HFJudge

        hf_speed = {**judging, **_values(self, HFSpeedConfig)}
        if self.judge_model:
            load = _values(self, HFLoadConfig)
            if load["model"] == "embedded":
                from ...embedded import smollm2_path

                load["model"] = str(smollm2_path())
            return HFJudge(**load, **hf_speed)
        if policy is None:
            raise ValueError("judge_model is not set and there is no policy to share: give --judge MODEL (or 'embedded')")
        adapter = self.judge_adapter
        batch = {"batch_size": self.judge_batch_size}
        if adapter:
            return HFJudge.from_model(policy, tokenizer, adapter=adapter, adapter_name="judge", **batch, **hf_speed)
        from peft import PeftModel

        if isinstance(policy, PeftModel):
            return HFJudge.from_model(policy, tokenizer, disable_adapters=True, **batch, **hf_speed)
        return HFJudge.from_model(policy, tokenizer, **batch, **hf_speed)

    def __post_init__(self) -> None:
        if isinstance(self.judge_base_url, str):
            self.judge_base_url = [self.judge_base_url]
        for name in ("judge_model", "judge_adapter", "judge_server_model", "judge_max_response_tokens"):
            value = getattr(self, name)
            if isinstance(value, str) and value.lower() in ("", "null", "none"):
                setattr(self, name, None)  # "--judge_adapter null" on the command line means None, as in YAML
        if self.judge_base_url and (self.judge_model or self.judge_adapter):
            raise ValueError("judge_base_url is set: the served judge is used, so judge_model/judge_adapter must be unset")


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("generated.py")
    target.write_text(flags_source())
    print(f"wrote {target}")
