"""One small exception family. Messages say what to do next."""


class AssistantError(Exception):
    """Base of every error the assistant reports to a user."""


class ArticleError(AssistantError):
    """One input file could not be read as an article."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class NoIndexError(AssistantError):
    """Asked a question before anything was ingested."""


class SettingsError(AssistantError):
    """Settings that cannot work together."""
