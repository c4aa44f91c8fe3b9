"""Question answering over news articles with verified, quoted citations."""

from .contracts import REFUSAL, Answer, Citation
from .core import Assistant
from .errors import AssistantError
from .settings import Settings

__all__ = ["REFUSAL", "Answer", "Assistant", "AssistantError", "Citation", "Settings"]
