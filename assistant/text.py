"""Small text analysis shared by retrieval and answering: terms, names, speech and answer types.

The answer-type patterns below (counts, times, durations, names, units, money) feed only the two
features ``rule_type`` and ``rule_evidence``. They stay because they were measured against
spaCy's entities (issue 16): with only the entity features (``asked_entity``, ``specific_entity``,
``asked_unit``, ``counted_number`` ...) the fitted scorer's cross-validated utility fell from
0.553 to 0.516 and the dev utility from 0.491 to 0.455. The small spaCy model tags "6:45pm" and
"40 per cent" CARDINAL, finds no name in "The Ocean Star was towed into port", and counts "many
billions of dollars" as MONEY; the patterns draw those lines. The ones the fit did not need (the
warning cue, the document subject, the asked subject, the asked preposition) are gone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .terms import _DEMONYMS, _TOKEN, STOPWORDS, _country, stem, tokens

QUESTION_WORDS = frozenset("what who whom whose when where why how which".split())

# "What comparison did X use?": a question about someone's words without a speech verb
_ASKS_WORDS = re.compile(r"\b(?:what|which) (?:saying|comparison|analogy|words?|phrase|expression)\b",
                         re.IGNORECASE)
# "several" counts nothing: "several hotel guests" does not say how many
_COUNT_WORDS = (r"\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                r"(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty")
_COUNT = re.compile(rf"\b(?:{_COUNT_WORDS})\b", re.IGNORECASE)  # a count, not "billions"
_NUMBER = re.compile(rf"\b(?:{_COUNT_WORDS}|dozens?|hundreds?|thousands?|millions?|billions?|half)\b",
                     re.IGNORECASE)
_TIME = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow|"
    r"tonight|january|february|march|april|may|june|july|august|september|october|november|"
    r"december|(?:last|next|this|previous|coming) (?:week|month|year|weekend)|"
    r"(?:18|19|20)\d\d|\d+ (?:days?|weeks?|months?|years?|hours?) (?:ago|earlier|later)|"
    r"(?:morning|afternoon|evening|night)|since|until|ago|earlier|later|decades?|centur(?:y|ies)|"
    r"\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm))\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many|\d[\d,.]*)\s+"
    r"(?:more\s+)?(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|decades?)\b",
    re.IGNORECASE,
)
_MULTIWORD_NAME = re.compile(r"\b[A-Z][a-z’'.]+(?:\s+(?:[A-Z]\.\s*)?[A-Z][a-z’']+)+")
_PRONOUN_START = re.compile(r"^[“\"‘']?(?:He|She|They|It|His|Her|Their)\b")


@dataclass(frozen=True)
class Question:
    """What a question asks for, as far as simple rules can tell."""

    text: str
    key_terms: frozenset[str]  # stemmed content words the answer's context must cover
    names: frozenset[str]  # stemmed proper nouns: every one must be covered
    asks_speech: bool  # "what did X say/warn/tell ..."
    wants: str | None  # "number", "time", "duration", "person", "place", "name", "degree" or None
    counted: str | None  # for "how many X": the stem of X
    # "what did Kurt Campbell say": {"kurt", "campbell"}, read off the parse (Assistant.read)
    speaker: frozenset[str] = frozenset()
    focus: str | None = None  # "which airline", "the name of the nurse": the answer's own word
    money: bool = False  # "what salary", "how much compensation": an amount of money
    unit: str | None = None  # the asked form of a time or number: "clock", "date", "distance"...
    scale: str | None = None  # "how open are the lines": the adjective a degree answers ("open")
    about: frozenset[str] = frozenset()  # "say about the Taliban when ...": {"taliban"}


def analyse(question: str, reporting: frozenset[str] = frozenset()) -> Question:
    """The rules' reading of a question; ``reporting`` holds the words of it that the language
    model reads as verbs of reported speech (``QuestionLanguage.reporting_words``)."""
    words = tokens(question)
    lowered = [w.lower() for w in words]
    names = set()
    for i, word in enumerate(words):
        # A capitalised word is a name unless it only opens the question.
        opening_name = i == 0 and len(words) > 1 and words[1][0].isupper() \
            and not _is_common_opening(lowered[0])  # "Kurt Campbell said what?"
        if (word[0].isupper() and lowered[i] not in STOPWORDS
                and lowered[i] not in QUESTION_WORDS and (i > 0 or opening_name)):
            names.add(stem(word))
    said = {stem(w) for w in reporting}
    speech = said or ({"according"} if re.search(r"\baccording to\b", question, re.I) else set())
    speech = speech or ({"words"} if _ASKS_WORDS.search(question) else set())
    key = {stem(w) for w in lowered if w not in STOPWORDS and w not in QUESTION_WORDS} - said
    wants = None
    counted = None
    q = question.lower()
    # "how large a force" counts like "how many": a number beside the force ("3,000-strong force")
    if m := re.search(r"\bhow (?:many|large an?|big an?)\s+(?:of\s+the\s+)?"
                      r"((?:[a-z'-]+\s+){0,4}?[a-z'-]+)\s+"
                      r"(?:were|was|are|is|did|do|does|have|has|had|will|would|can|could|died|"
                      r"remain\w*|[a-z]+ed)\b", q):  # "how many firefighting officers arrived"
        # "how many Woomera detention centre officers were ...": any of those words is counted
        wants, counted = "number", " ".join(stem(w) for w in m.group(1).split())
    elif m := re.search(r"\bhow (?:many|large an?|big an?)\s+([a-z'-]+)", q):
        wants, counted = "number", stem(m.group(1))
    elif re.match(r"\s*(?:who|whom)\b", q) or re.search(r"\bwhat (?:is|are|was|were) the names?\b|"
                                                      r"\bwhat (?:\w+ )?(?:is|was) \w+ called\b", q):
        wants = "person"  # the opening word decides: "Who was he with when ...?" wants a name
    elif re.search(r"\bhow long\b(?! ago)|\bwhat (?:time ?frame|period)\b", q):
        wants = "duration"
    elif re.search(r"\bhow (?:much|old|far|large|big)\b|\b(?:what|which) (?:number|percentage|share|"
                   r"salary|price|cost|amount|fee|fine|sum|figure|rate|score)\b|\bscores?\b", q):
        wants = "number"
    elif _opening_word(lowered) == "when" or re.search(
            r"\b(?:what|which) (?:\w+ )?(?:years?|dates?|days?|months?|time)\b|\bhow long ago\b|"
            r"\bsince when\b", q):
        wants = "time"  # "When ...?", not "What did he say when ...?"
    elif _opening_word(lowered) == "where":
        wants = "place"
    elif _opening_word(lowered) == "which":
        wants = "name"  # "which yacht", "aboard which ship": usually a name, not always
    scale = None
    # "How open are ...?", "How close does he say ...": an adjective, then the verb
    if wants is None and (m := re.search(
            r"\b[Hh]ow ([a-z]+) (?:is|are|was|were|am|be|been|do|does|did|has|have|had|will|"
            r"would|can|could|should|shall|may|might|must)\b", question)) \
            and m.group(1) not in STOPWORDS | _NOT_SCALES:
        wants, scale = "degree", stem(m.group(1))  # answered by "almost fully open"
    focus = None
    # "the name of the nurse": a sentence that names her mentions the nurse. ("Which city" is
    # not like that: "in Oslo" answers it without the word "city".)
    if m := re.search(r"\b(?:name|names) of (?:the |a |an |his |her |their )?", q):
        head = _head_noun(tokens(question[m.end():]))
        if head and head not in STOPWORDS | _VAGUE_FOCUS:
            focus = stem(head)
    money = wants == "number" and bool(re.search(
        r"\b(?:what|which) (?:salary|price|cost|fee|fine|sum|amount of money)\b|"
        r"\bhow much\b.*\b(?:salary|price|cost|fee|fined?|compensation|paid|pay|worth|money)\b", q))
    unit = next((u for u, asks in _ASKED_UNIT.items() if asks.search(q)), None) \
        if wants in ("time", "number") else None
    return Question(question, frozenset(key), frozenset(names), bool(speech), wants, counted,
                    frozenset(), focus, money, unit, scale,
                    _said_about(question) & key if speech else frozenset())


# "say about the Taliban when the Government suspended ...": what follows "about", up to the
# clause that only dates or places the story
_ABOUT = re.compile(r"\babout\s+(.+?)(?=\s+(?:when|after|before|while|during|since|as|at|in|on)\b|"
                    r"[,?]|$)", re.IGNORECASE)


def _said_about(question: str) -> frozenset[str]:
    """The terms of what a statement is asked about ("What did Downer say about the Taliban when
    the Government suspended ...?" → taliban): the statement's own words hold them."""
    return frozenset(stem(w) for w in tokens(m.group(1)) if w.lower() not in STOPWORDS) \
        if (m := _ABOUT.search(question)) else frozenset()


@lru_cache(maxsize=256)
def _question_words(question: str) -> frozenset[str]:
    """The question's words, lowercased: an answer is a word the question did not use. Asked of
    every candidate sentence, so computed once per question."""
    return frozenset(t.lower() for t in tokens(question))


# "How often do ...", "How soon will ...": a frequency or a time, not a degree
_NOT_SCALES = frozenset("come often soon".split())
# words that grade an adjective: "almost fully open", "highly unlikely"
_DEGREE = frozenset("""
very fully almost nearly completely totally entirely partly partially largely mostly extremely
quite rather somewhat highly deeply increasingly fairly relatively too so less more not never
barely hardly widely absolutely really seriously particularly especially remarkably incredibly
pretty reasonably moderately slightly critically dangerously wide half
""".split())


# The form a "when" or "how much" question asks for, and how an answer of that form looks.
_ASKED_UNIT = {
    "clock": re.compile(r"\bwhat (?:\w+ )?time\b"),
    "date": re.compile(r"\b(?:what|which) (?:dates?|days?)\b"),
    "year": re.compile(r"\b(?:what|which) years?\b"),
    "distance": re.compile(r"\bhow far\b"),
    "age": re.compile(r"\bhow old\b"),
    "percent": re.compile(r"\b(?:what|which) (?:percentage|share|proportion)\b"),
    "score": re.compile(r"\bscores?\b"),
}
_UNIT = {
    "clock": re.compile(r"\b\d{1,2}(?::\d\d|(?:[:.]\d\d)?\s*(?:am|pm))\b|\b(?:noon|midnight)\b",
                        re.IGNORECASE),
    "date": re.compile(
        r"\b(?:(?:january|february|march|april|may|june|july|august|september|october|november|"
        r"december)\s+\d{1,2}|\d{1,2}\s+(?:january|february|march|april|may|june|july|august|"
        r"september|october|november|december)|monday|tuesday|wednesday|thursday|friday|saturday|"
        r"sunday)\b", re.IGNORECASE),
    "year": re.compile(r"\b(?:18|19|20)\d\d\b"),
    "distance": re.compile(r"\b\d[\d,.]*\s*(?:kilometres?|kilometers?|km|metres?|meters?|miles?)\b",
                           re.IGNORECASE),
    "age": re.compile(r"\b\d+-year-old\b|\baged \d+\b|\b\d+ years old\b", re.IGNORECASE),
    "percent": re.compile(r"\b\d[\d,.]*\s*(?:per ?cent\b|%)|\b(?:half|majority|two-thirds|"
                          r"three-quarters|(?:a|one|two) (?:third|quarter)s?)\b", re.IGNORECASE),
    "score": re.compile(r"\b\d+\s*(?:-|–|/|for)\s*\d+\b"),  # "6-4", "3 for 77", "2/150"
}


_PARTICIPLES = frozenset("left held found shot hit taken seen known made caught built sent kept "
                         "brought told given run won lost hurt struck".split())


def _head_noun(words: list[str]) -> str | None:
    """The noun a phrase is about: "two Swiss tourists rescued after ..." → "tourists", "Gold
    Coast teenager stabbed to death" → "teenager", "nurse from Millicent" → "nurse"."""
    head = None
    for i, word in enumerate(words):
        lowered = word.lower()
        following = words[i + 1].lower() if i + 1 < len(words) else ""
        if lowered in STOPWORDS and head:
            break
        if head and (lowered.endswith("ed") or lowered in _PARTICIPLES) and following in STOPWORDS:
            break  # "... stabbed to death", "... left on Elliot Street"
        if lowered not in STOPWORDS and not _NUMBER.fullmatch(lowered) and not lowered[0].isdigit():
            head = lowered
    return head


# "What happened", "what time": words that do not name the kind of answer
_VAGUE_FOCUS = frozenset("""
happened happens kind sort type time day date year month way thing things did does do is was
were are has have had will would can could should percentage number share
""".split())
_MONEY = re.compile(r"[$£€¥]\s?\d|\b\d[\d,.]*\s*(?:dollars?|pounds?|euros?|francs?|yen|cents?|"
                    r"million|billion)\b", re.IGNORECASE)


TITLES = frozenset("""
president prime minister deputy secretary state foreign senator governor general chief premier
chancellor mr mrs ms dr prof spokesman spokeswoman spokesperson sir lord dame senior sergeant
inspector superintendent constable detective commissioner captain colonel major judge justice
mayor professor treasurer leader chairman chairwoman director executive officer manager coach
skipper ambassador envoy commander bishop archbishop reverend attorney councillor economist
scientist analyst lawyer official model doctor
""".split())


_TITLE_STEMS = frozenset(stem(t) for t in TITLES)


def speaker_terms(speakers) -> set[str]:
    """Stemmed name words of recorded speakers ("Kurt Campbell" → {"kurt", "campbell"})."""
    return {stem(t) for name in speakers for t in tokens(name)}


def is_person(asked: frozenset[str], name: str) -> bool:
    """Whether the speaker ``name`` can be the person a question asks about: "Campbell" and
    "Mr Campbell" can be Kurt Campbell, "Naomi Campbell" cannot."""
    return _one_name(asked, _person_words(name))


def _person_words(name: str) -> set[str]:
    """A speaker's own name: the words after the last title ("Australia Foreign Minister
    Alexander Downer" is Alexander Downer; "Sir Allan" is Allan Kemakeza's "Allan")."""
    words = tokens(name)
    last_title = max((i for i, w in enumerate(words) if w.lower() in TITLES), default=-1)
    return {stem(w) for w in words[last_title + 1:]} or speaker_terms([name]) - _TITLE_STEMS


def same_person(a: str, b: str) -> bool:
    """Whether two speaker names can be one person: "Mr Campbell" and "Kurt Campbell"."""
    return _one_name(_person_words(a), _person_words(b))


def _one_name(a: set[str], b: set[str]) -> bool:
    """Two name-word sets that share a word and one holds the other ("Campbell" ⊆ "Kurt
    Campbell"); "Naomi Campbell" and "Kurt Campbell" each have a word the other lacks."""
    return bool(a & b) and (a <= b or b <= a)


def _opening_word(lowered: list[str]) -> str | None:
    return next((w for w in lowered if w in QUESTION_WORDS), None)


def _is_common_opening(word: str) -> bool:
    return word in {"did", "does", "do", "is", "are", "was", "were", "has", "have", "can", "could",
                    "will", "would", "should", "tell", "name", "list", "give", "describe",
                    "explain", "according"}


def asks_who_spoke(question: Question) -> bool:
    """"Who said the strike is not about pay?", "Which official warned ...": the speaker is the
    answer (not "Who did Campbell tell ...?", which names the speaker and asks for another)."""
    return question.asks_speech and question.wants in ("person", "name") and not question.speaker


def is_direct(text: str) -> bool:
    """Direct speech: in quotation marks, or first person (transcripts drop the marks)."""
    return bool(re.search(r"[“\"]", text) or re.search(r"\b(?:I|we|my|our)\b", text))


def starts_with_pronoun(sentence: str) -> bool:
    return bool(_PRONOUN_START.match(sentence))


def leans_on_previous(sentence: str, previous: str) -> bool:
    """Whether the sentence needs the one before it to say who or what it is about: it opens
    with a pronoun ("He said ...") or with a quotation that the sentence before introduces
    (“It's not instant coffee,” he said). A quotation after a quotation only continues it: the
    first carries what the statement is about."""
    return starts_with_pronoun(sentence) or (sentence[:1] in "“\"‘" and not is_direct(previous))


def sentence_contexts(article) -> list[str]:
    """Each sentence of ``article.sentences`` with the ones before it that it leans on ("He
    said ...", a quotation continued), up to two back: they name who "he" is. What a sentence
    is embedded as."""
    text, spans = article.text, article.sentences
    out = []
    for index in range(len(spans)):
        start = index
        while start > 0 and index - start < 2 and leans_on_previous(
                text[spans[start].start:spans[start].end],
                text[spans[start - 1].start:spans[start - 1].end]):
            start -= 1
        out.append(" ".join(text[s.start:s.end] for s in spans[start:index + 1]))
    return out


_PEOPLE = frozenset(stem(w) for w in "people persons men women children residents citizens".split())
_COUNTRIES = frozenset(_DEMONYMS.values())  # what a people word ("Australians") stems to


_MAGNITUDES = frozenset(stem(w) for w in "dozens hundreds thousands millions billions".split())


def satisfies(question: Question, sentence: str, context_terms: set[str]) -> bool:
    """Whether ``sentence`` has the kind of thing the question asks for."""
    if question.focus and context_terms and question.focus not in context_terms:
        return False  # "which airline": the answer names an airline
    if question.money and not _MONEY.search(sentence):
        return False
    if question.unit and not _UNIT[question.unit].search(sentence):
        return False  # "at what time", "what were the scores": only a sentence with one answers
    if question.wants == "number":
        if not question.counted:
            return bool(_NUMBER.search(sentence))
        words = [stem(t) for t in tokens(sentence)]
        raw = tokens(sentence)
        counted = set(question.counted.split()) - STOPWORDS  # "billions of dollars": not "of"
        if counted & _COUNTRIES:  # "how many Australians": "1,570 people"
            counted |= _PEOPLE
        # "how many billions of dollars": "many billions" is no count of them, "4.5 billion" is
        counts = _NUMBER if question.counted.split()[0] not in _MAGNITUDES else _COUNT
        return any(counts.fullmatch(raw[i]) and counted & set(words[i + 1:i + 5])
                   for i in range(len(words)))
    if question.wants == "time":
        return bool(_TIME.search(sentence))
    if question.wants == "duration":
        return bool(_DURATION.search(sentence) or _TIME.search(sentence))
    if question.wants == "person":
        # a multi-word name ("Stephen Orlins", "Treasury Department") the question did not name,
        # more than a title ("Chief Inspector" of a known name) or a people ("The Arabs", "Arab
        # Al Qaeda fighter"), and not a place ("Elm Street")
        names = [m for m in _MULTIWORD_NAME.finditer(sentence)
                 if _name_words(m.group()) - question.names - TITLES
                 and not _PLACE_NAME.search(m.group())]
        return any(_names_the_focus(question, sentence, m) for m in names)
    if question.wants == "place":
        return _new_capitalised(question, sentence)
    if question.wants == "degree":  # "how confident": a sentence that never says "confident"
        return bool(_graded(question, sentence))  # does not say how confident
    return True


def _names_the_focus(question: Question, sentence: str, name: re.Match, reach: int = 3) -> bool:
    """"The names of the two firms": where the sentence mentions the firms, the name stands
    beside them ("the nurse, Jane Roe,"), not five words off ("the Treasury Department imposed
    sanctions on two Chinese firms")."""
    if not question.focus:
        return True
    words = list(_TOKEN.finditer(sentence))
    at = [i for i, w in enumerate(words) if stem(w.group()) == question.focus]
    if not at:
        return True  # the focus is in the sentence before ("The nurse survived. Jane Roe, 34, ...")
    inside = [i for i, w in enumerate(words) if name.start() <= w.start() < name.end()]
    return any(abs(i - j) <= reach for i in at for j in inside)


def _name_words(name: str) -> set[str]:
    """The stems of a capitalised run that could name someone: not "The", not "Arab"."""
    return {stem(t) for t in tokens(name) if t.lower() not in STOPWORDS and not _country(t.lower())}


def _new_capitalised(question: Question, sentence: str) -> bool:
    """A capitalised word after the first that the question did not name ("Mittagong")."""
    return any(w[0].isupper() and w.lower() not in STOPWORDS and stem(w) not in question.names
               for w in tokens(sentence)[1:])


_PLACE_NAME = re.compile(r"\b(?:Street|Road|Highway|Avenue|Lane|Centre|Center|River|Creek|Park|"
                         r"Airport|Oval|Stadium|Square|Bridge|Bay|Beach|Island|Mountains?|Valley|"
                         r"Territory|Province|Region|County|District|Highlands|Coast|Strait|Gulf|"
                         r"Sea|Ocean|Peninsula|Desert|Lake)$")


_EXPLICIT_TIME = re.compile(
    r"\b(?:(?:18|19|20)\d\d|\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm)|(?:january|february|march|april|may|"
    r"june|july|august|september|october|november|december)\s+\d{1,2}|\d{1,2}\s+(?:january|"
    r"february|march|april|may|june|july|august|september|october|november|december)|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)


def answer_evidence(question: Question, sentence: str) -> float:
    """How plainly ``sentence`` holds a new answer of the asked type (0 to 1): a date the
    question did not give for "when", a number beside the counted thing for "how many", a name
    the question did not use for "who", "which" or "where". 0 for untyped questions."""
    asked = _question_words(question.text)

    def new(match: re.Match) -> bool:
        return any(t.lower() not in asked for t in tokens(match.group()))

    if question.unit:  # "at what time": a clock time is the answer, "Monday night" only near it
        if any(new(m) for m in _UNIT[question.unit].finditer(sentence)):
            return 1.0
        return 0.5 * _typed_evidence(question, sentence, new)
    return _typed_evidence(question, sentence, new)


def _graded(question: Question, sentence: str) -> float:
    """"How open ...?": 1 where the sentence grades the adjective ("almost fully open") or says
    its opposite ("unlikely" for "how likely"), 0.5 where it only uses it, else 0."""
    words = [t.lower() for t in tokens(sentence)]
    found = 0.0
    for i, word in enumerate(words):
        if stem(word) == question.scale:
            if _DEGREE & set(words[max(0, i - 2):i]):
                return 1.0
            found = 0.5
        elif any(word.startswith(p) and stem(word[len(p):]) == question.scale
                 for p in ("un", "in", "im", "il", "ir", "non")):
            return 1.0
    return found


def _typed_evidence(question: Question, sentence: str, new) -> float:
    if question.wants == "degree":
        return 1.0 if _graded(question, sentence) == 1.0 else 0.0
    if question.wants == "time":
        if any(new(m) for m in _EXPLICIT_TIME.finditer(sentence)):
            return 1.0
        return 0.5 if any(new(m) for m in _TIME.finditer(sentence)) else 0.0
    if question.wants == "duration":
        return 1.0 if any(new(m) for m in _DURATION.finditer(sentence)) else 0.0
    if question.wants == "number":
        if question.counted and satisfies(question, sentence, set()):
            return 1.0
        return 0.5 if any(new(m) for m in _NUMBER.finditer(sentence)) else 0.0
    if question.wants in ("person", "place", "name"):
        if any(new(m) for m in _MULTIWORD_NAME.finditer(sentence)):
            return 1.0
        if question.wants == "person":
            return 0.6 if satisfies(question, sentence, set()) else 0.0
        return 0.6 if _new_capitalised(question, sentence) else 0.0
    return 0.0


def topic(question: Question) -> frozenset[str]:
    """What a "what did X say about Y" question is about: its key terms without the speaker."""
    return question.key_terms - question.speaker


def coverage(question: Question, context_terms: set[str]) -> float:
    if not question.key_terms:
        return 1.0
    return len(question.key_terms & context_terms) / len(question.key_terms)
