"""Index-time terms: the stemmed content words BM25 and term coverage count.

Kept apart from question analysis (``text.py``) on purpose: the stored BM25 index is built with
these functions, so a change here must bump ``TERMS_VERSION`` (the index is then rebuilt), and a
change to how questions are read can never silently change the index.
"""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they this
those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves s t don isn wasn weren didn doesn ve ll re d
according tell told say said says ask asked us
""".split())

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*|\d[\d,.]*")
# Bump when terms() changes: the BM25 index is rebuilt with it.
TERMS_VERSION = 5

_UNSTEMMED = frozenset({"news", "series", "species", "us", "bus", "gas", "was", "has", "is", "this"})


# A people and its country are one term: "Chinese state media" is "China's state broadcaster".
_DEMONYMS = {
    "chinese": "china", "british": "britain", "australian": "australia", "israeli": "israel",
    "palestinian": "palestine", "pakistani": "pakistan", "indian": "india", "afghan": "afghanistan",
    "iraqi": "iraq", "iranian": "iran", "indonesian": "indonesia", "russian": "russia",
    "japanese": "japan", "french": "france", "german": "germany", "swiss": "switzerland",
    "italian": "italy", "canadian": "canada", "argentine": "argentina", "argentinian": "argentina",
    "zealander": "zealand", "american": "america", "korean": "korea", "taiwanese": "taiwan",
    "ukrainian": "ukraine", "turkish": "turkey", "egyptian": "egypt", "saudi": "saudi",
    "yemeni": "yemen", "haitian": "haiti", "kashmiri": "kashmir", "timorese": "timor",
    "arab": "arab",
}


def _country(word: str) -> str | None:
    """The country of a lower-case people word ("israelis" → "israel"), else None."""
    return _DEMONYMS.get(word) or (_DEMONYMS.get(word[:-1]) if word.endswith("s") else None)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix-stripping stemmer: enough to match warn/warned/warning, firm/firms."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if country := _country(w):
        return country
    if w in _UNSTEMMED:
        return w
    for suffix, keep in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                break
            if suffix == "es" and not w[:-2].endswith(("s", "x", "z", "ch", "sh")):
                continue  # homes → home (then hom), not hom-es
            w = w[: len(w) - len(suffix)] + keep
            break
    if w.endswith("sion") and len(w) >= 8 and w[-5] in "aeiou":
        return w[:-4] + "d"  # invasion/invade, decision/decide, explosion/explode
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]  # home/homes, raise/raised/raising meet in one stem
    return w


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def terms(text: str) -> set[str]:
    """Stemmed content words of ``text``."""
    return {stem(t) for t in tokens(text) if t.lower() not in STOPWORDS}


def index_terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` in order, repeats kept (what BM25 counts)."""
    return [stem(t) for t in tokens(text) if t.lower() not in STOPWORDS]
