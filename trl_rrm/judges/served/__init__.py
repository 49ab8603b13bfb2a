"""Judges behind OpenAI-compatible servers (vLLM, SGLang): ``OpenAIJudge`` (``openai``) on
an HTTP client with pacing, retries and several servers (``http``)."""

from .http import JudgeServerError
from .openai import OpenAIJudge, OpenAIJudgeConfig, ServerConfig

__all__ = ["JudgeServerError", "OpenAIJudge", "OpenAIJudgeConfig", "ServerConfig"]
