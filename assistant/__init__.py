"""Question answering over news articles with verified, quoted citations."""

from .errors import AssistantError

__all__ = ["REFUSAL", "Answer", "Assistant", "AssistantError", "Citation", "Settings"]


def __getattr__(name: str):
    """The rest on first use: importing them imports numpy, onnxruntime and chromadb, which
    `assistant ask` puts off until it has started analysing the question (cli.ask_command)."""
    if name == "Assistant":
        from .core import Assistant

        return Assistant
    if name == "Settings":  # pydantic-settings: the parent's to import, after the fork
        from .settings import Settings

        return Settings
    if name in ("REFUSAL", "Answer", "Citation"):
        from . import contracts

        return getattr(contracts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
