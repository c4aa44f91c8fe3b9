"""Who said what: the speakers of each sentence of an article, found at ingest.

News attributes speech in a few fixed shapes, and simple rules cover most of them:
"X said", "X, who ..., said", "“...,” said X", "according to X", "he added" (the last speaker),
"the union's secretary, Tony Sheldon, says", and a paragraph that is all quotation continuing
the speaker before it. "X told Y" makes X the speaker, never Y; a byline is not in the text at
all. A speaker named by a role only ("the statement said") is recorded as unknown, which is not
the same as another person.
"""

from __future__ import annotations

import re

from .articles import Sentence
from .chunking import sentence_spans
from .terms import STOPWORDS
from .text import TITLES

# Bump when the rules change: ingest then re-analyses every stored article (no re-embedding).
VERSION = 12

_VERB = (
    r"(?:say|says|said|saying|tell|tells|told|telling|warn|warns|warned|warning|add|adds|added|"
    r"argue|argues|argued|urge|urges|urged|claim|claims|claimed|insist|insists|insisted|"
    r"note|notes|noted|state|states|stated|suggest|suggests|suggested|cite|cites|cited|"
    r"label|labels|labelled|labeled|announce|announces|announced|accuse|accuses|accused|"
    r"describe|describes|described|comment|comments|commented|reply|replies|replied|"
    r"respond|responds|responded|stress|stresses|stressed|predict|predicts|predicted|"
    r"promise|promises|promised|threaten|threatens|threatened|deny|denies|denied|"
    r"admit|admits|admitted|explain|explains|explained|report|reports|reported|"
    r"write|writes|wrote|ask|asks|asked|confirm|confirms|confirmed|declare|declares|declared|"
    r"reveal|reveals|revealed|vow|vows|vowed|pledge|pledges|pledged|believe|believes|believed|"
    r"acknowledge|acknowledges|acknowledged|concede|concedes|conceded|estimate|estimates|"
    r"estimated|maintain|maintains|maintained|call|calls|called|rejected|rejects|"
    r"accusing|urging|claiming|arguing|insisting|describing|calling|adding|noting|stating|"
    r"suggesting|announcing|denying|explaining|threatening|promising|predicting|condemn|condemns|"
    r"condemned|condemning)"
)
_ADVERB = r"(?:\s+(?:also|first|later|then|again|earlier|previously|repeatedly|once|had|has|have|"
_ADVERB += r"would|will|not|never|\w+ly|(?:refused|declined|went on|continued|wanted|wants) to))*"
_SPEECH_VERB = re.compile(rf"\b{_VERB}\b")
_CAP = r"(?:[a-z]{1,3}(?=[A-Z]))?[A-Z][\w’'.-]*"  # "Campbell", "duPlessis"
_NAME_PARTICLE = r"(?:bin|ibn|de|del|della|da|di|du|la|le|van|von|der)"  # "Osama bin Laden"
_PARTICLE = rf"(?:of|{_NAME_PARTICLE})"  # ... and "Secretary of State"
_RUN = rf"(?:{_CAP}(?:\s+{_PARTICLE})*\s+)*{_CAP}"  # "Deputy Secretary of State Kurt Campbell"
_ACRONYM = r"(?:\s+\([A-Z]{2,}\))?"  # "The New South Wales State Emergency Service (SES) says"
_NAME_TAIL = re.compile(rf"({_RUN}){_ACRONYM}{_ADVERB}\s+$")
_AFFILIATION = re.compile(rf"((?:{_CAP}\s+)+{_CAP})\s+(?:from|of|at)\s+(?:the\s+)?{_RUN}{_ADVERB}\s+$")
_NAME_AFTER = re.compile(rf"^\s+((?:{_CAP}\s+)*{_CAP})")
_APPOSITION = re.compile(rf",\s*({_RUN}),{_ADVERB}\s*$")  # "The union's secretary, Tony Sheldon, says"
_ACCORDING = re.compile(rf"\baccording to\s+((?:{_CAP}\s+)*{_CAP})")
_PRONOUN_TAIL = re.compile(rf"\b(he|she|they)\b{_ADVERB}\s+$", re.IGNORECASE)
# Capitalised words that open a sentence or a clause, or give a title, without naming anyone.
_NOT_NAMES = frozenset("""
a an the in on at as after before last still but and or so yet while when if this that these
those it its his her their our we i you he she they however meanwhile also earlier later then
asked speaking mr mrs ms dr prof president prime minister deputy secretary state foreign
senator sen gov governor general gen chief premier chancellor spokesman spokeswoman
spokesperson leader official officials minister's
""".split())
# Words of a title ("Deputy Secretary of State", "Sen."): the shared TITLES and the abbreviations
_TITLE_LIKE = TITLES | frozenset("sen gov gen of".split())
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|we|we're|we've|my|our|us|me)\b", re.IGNORECASE)
_ALL_QUOTE = re.compile(r"^[“\"‘].*[”\"’]$")
# Who a sentence or clause is about: "Team captain John Fitzgerald has ...", "..., however Todd
# Woodbridge hit out ...", "... was spelt out by spokesman Raanan Gissin." Role words may stand
# between the capitalised ones; the name is the last capitalised run.
_ROLE = rf"(?:{'|'.join(sorted(TITLES))})"
_PHRASE = rf"(?:(?:{_CAP}|{_ROLE})(?:\s+of(?:\s+the)?)?\s+)*{_CAP}"
_ROLE_WORDS = re.compile(rf"(?:\s+(?:the|a|an|{_CAP}|{_ROLE}))+$")  # "by Palestinian leader"
# ... followed by its verb ("has", "hit out"), or by an apposition ("Sir Allan Kemakeza, the
# leader of ...", not "The United States, the European Union and ..."); not by a role ("A senior
# Israeli Defence official has told": the official speaks, not "Israeli Defence")
_SUBJECT = re.compile(rf"(?:^\s*|[,;]\s*(?:however|but|while|although|and)\s+|[;:]\s+)"
                      rf"(?:(?:The|A|An)\s+)?({_PHRASE})"
                      rf"(?:\s+(?!{_ROLE}\b)[a-z]|,\s+(?:(?:the|a|an)\s+[a-z]|who\b))")
# The subject a sentence opens with, up to its first comma: "Australian paceman Glenn McGrath,
# who has two wickets, says" (a name ends it), after a scene-setting "In Kabul," or "Yesterday,".
_OPENING = re.compile(rf"(?:\s*(?:In|At|On|From|After|Before|During|Yesterday|Today|Earlier|Later|"
                      rf"Meanwhile|Overnight)\b[^,]*,)?\s*(?:But\s+|And\s+)?(?:The\s+)?"
                      rf"((?:(?:[a-z-]+|{_CAP})\s+)*?{_RUN})\s*,")
_UNCLOSED_RELATIVE = re.compile(r"[^,]*,\s+(?:who|whose)\b[^,]*$")
_OPENING_RUN = re.compile(rf"\s*(?:The\s+)?({_PHRASE})")
_AGENT = re.compile(rf"\bby\s+(?:the\s+)?({_PHRASE})\s*(?:[,.;]|$)")
_HONORIFICS = frozenset({"sir", "lord", "dame"})  # part of the name: "Sir Allan"
# Speakers a pronoun cannot stand for: "he said" after "the Health Service says" is a person.
_ORGANISATION = re.compile(
    r"\b(?:Government|Department|Council|Union|Service|Ministry|Police|Committee|Commission|"
    r"Office|Party|Agency|Court|Company|Corporation|Association|Bureau|Authority|Board|"
    r"Institute|Organi[sz]ation|Federation|Army|Navy|Forces?|Survey|University|Bank|Group|Fund|"
    r"Airlines?|Inc|Ltd|News|Network|Centre|Center|Club|League|Alliance|Coalition|Pentagon|"
    r"Kremlin|Congress|Senate|Parliament|Cabinet|Press|Radio|Television)\b")


def _clean_name(raw: str) -> str | None:
    """A speaker's name from the words before a speech verb: titles stripped from the front,
    and the owner of a person ("Westpac's Bill Evans", "Britain's Queen Elizabeth II" are Bill
    Evans and Queen Elizabeth II; "Pakistan's Foreign Ministry" stays whole)."""
    owner = re.match(r"(?:[\w-]+\s+)*?[\w-]+(?:’s|'s)\s+(?=[A-Z])", raw)
    if owner and not _ORGANISATION.search(raw[owner.end():]):
        raw = raw[owner.end():]
    words = raw.replace("’s", "").replace("'s", "").split()
    while words and words[0].lower().strip(".") in (_NOT_NAMES | _TITLE_LIKE) - _HONORIFICS:
        words = words[1:]
    if not words or all(w.lower() in _NOT_NAMES for w in words):
        return None
    return " ".join(w.strip(".,") for w in words)


def _full_name(name: str, people: list[str]) -> str:
    """"Campbell" → "Kurt Campbell" when the article named him in full earlier."""
    last = name.split()[-1]
    for person in people:
        if person != name and person.split()[-1] == last and len(person.split()) > len(name.split()):
            return person
    return name


def _opening_subject(before: str, people: list[str]) -> str | None:
    """The subject a sentence opens with, when a comma ends it: "Australian paceman Glenn
    McGrath, who ...,", "Kylie Morrow's mother Elizabeth,", after "In Kabul,". Else the
    capitalised words it opens with, if they are a full name or the article gives one for them
    ("Hawthorne"), never a lone "Child advocates" or "American defence officials"."""
    if (m := _OPENING.match(before)) and not any(
            w.islower() and w in STOPWORDS for w in m.group(1).split()):
        return _clean_name(_person_of(m.group(1)))
    if m := _OPENING_RUN.match(before):
        name = _clean_name(_person_of(m.group(1)))
        if name and len(_full_name(name, people).split()) >= 2:
            return name
    return None


def _speakers_of(sentence: str, last_speaker: str | None, last_person: str | None,
                 people: list[str] = ()) -> tuple[list[str], bool]:
    """(named speakers, whether the sentence reports or quotes speech). "He said" is the last
    person named (``last_person``), "they said" the last speaker, who may be an organisation."""
    speakers: list[str] = []
    speech = False
    unnamed = False  # an earlier speech verb of this sentence has a speaker nobody named
    for match in _attributions(sentence):
        speech = True
        before = sentence[:match.start()]
        after = sentence[match.end():]
        named = None
        if affiliated := _AFFILIATION.search(before):
            # "Doug Cameron from the Australian Manufacturing Workers Union says"
            named = _clean_name(affiliated.group(1))
        if named is None and _UNCLOSED_RELATIVE.match(before):
            # "Stuart MacGill, who is in the squad in place of Andy Bichel says": MacGill
            named = _opening_subject(before[:before.index(",") + 1], people)
        if named is None and (tail := _NAME_TAIL.search(before)):
            prefix = _ROLE_WORDS.sub("", before[:tail.start()].rstrip())
            # "with Stephen Orlins said", "chaired by Palestinian leader Yasser Arafat called" is
            # not Orlins or Arafat speaking; "Campbell said" is.
            if not re.search(r"\b(?:with|to|by|from|for|of|about|at|on|in)$", prefix) or \
                    re.search(r"\b(?:spokes\w+|aides?) (?:for|to)$|\b(?:statement|report|letter|release|"
                              r"statistics|figures|study|survey)(?:\s+\w+ed)? (?:from|by|of)$", prefix):
                named = _clean_name(tail.group(1))
        if named is None and (apposition := _APPOSITION.search(before)):
            named = _clean_name(apposition.group(1))
        if named is None and (pronoun := _PRONOUN_TAIL.search(before)):
            they = pronoun.group(1).lower() == "they"
            # "Government sources say they will not confirm": they are the sources, unnamed
            named = None if they and unnamed else last_speaker if they else last_person
        if named is None and before.rstrip().endswith(","):
            # "Campbell, who was speaking with ..., said": the clause's subject opens it.
            named = _opening_subject(before, people)
        if named is None and match.group().lower() in {"said", "says", "added", "warned", "told"} \
                and re.search(r"[,.!?]?[”\"’]\s*$", before) and (after_name := _NAME_AFTER.match(after)):
            named = _clean_name(after_name.group(1))  # “...,” said Mr Smith.
        if named and named not in speakers:
            speakers.append(named)
        unnamed = unnamed or named is None
    for match in _ACCORDING.finditer(sentence):
        speech = True
        named = _clean_name(match.group(1))
        if named and named not in speakers:
            speakers.append(named)
    if "“" in sentence or '"' in sentence:
        speech = True
    return speakers, speech


def analyse(text: str) -> list[Sentence]:
    """Every sentence of ``text`` with its speakers (full names where the article gives them)."""
    people: list[str] = []
    for match in re.finditer(rf"\b[A-Z][\w’'-]+(?: (?:{_NAME_PARTICLE} )*[A-Z][\w’'-]+)+", text):
        name = _clean_name(_last_run(match.group()))  # "General Richard Myers": Richard Myers
        if name and len(name.split()) >= 2 and name not in people:
            people.append(name)
    sentences: list[Sentence] = []
    last_speaker: str | None = None
    last_person: str | None = None  # whom "he" or "she" refers to
    previous_speech = False
    previous_speakers: tuple[str, ...] = ()
    previous_paragraph_end = -1
    for span in sentence_spans(text):
        sentence = text[span.start:span.end]
        speakers, speech = _speakers_of(sentence, last_speaker, last_person, people)
        speakers = list(dict.fromkeys(_full_name(s, people) for s in speakers))
        paragraph_start = text.rfind("\n", 0, span.start) + 1
        whole_paragraph = paragraph_start == span.start and (
            text.find("\n", span.end) == -1 or text[span.end:span.end + 1] == "\n"
            or span.end == len(text))
        if not speakers and whole_paragraph and _ALL_QUOTE.match(sentence.strip()) and last_speaker:
            speakers = [last_speaker]  # a quote paragraph continues the speaker before it
        elif not speakers and previous_speakers and sentence.lstrip()[:1] in "“\"‘" \
                and not _attributions(sentence):
            speakers = list(previous_speakers)  # “...,” he said. “And more.”: still his words
        elif not speakers and not speech and last_speaker and previous_speech \
                and _FIRST_PERSON.search(sentence):
            # transcripts drop the quote marks: "Mr Downer says ... . Well, we ..." is his
            speakers, speech = [last_speaker], True
        previous_speech = speech
        previous_speakers = tuple(speakers)
        if speakers:
            last_speaker = speakers[0]
            last_person = last_speaker if _is_person(last_speaker, sentence) else last_person
        elif speech and paragraph_start != previous_paragraph_end and _role_speaker(sentence):
            last_speaker = last_person = None  # "the statement said": who is unknown
        elif subject := _named_subject(sentence):
            last_person = subject  # "Foreign Minister Alexander Downer has refused to ..."
        previous_paragraph_end = paragraph_start
        sentences.append(Sentence(start=span.start, end=span.end, speakers=tuple(speakers),
                                  speech=speech))
    return _quote_paragraphs(text, sentences)


def _quote_paragraphs(text: str, sentences: list[Sentence]) -> list[Sentence]:
    """A paragraph that opens a quotation has one speaker: “A. B,” he added — A is his too."""
    out = list(sentences)
    by_paragraph: dict[int, list[int]] = {}
    for i, s in enumerate(sentences):
        by_paragraph.setdefault(text.rfind("\n", 0, s.start) + 1, []).append(i)
    for start, members in by_paragraph.items():
        if text[start:start + 1] not in "“\"‘" or len(members) < 2:
            continue
        named = {sentences[i].speakers for i in members if sentences[i].speakers}
        if len(named) == 1:
            speakers = named.pop()
            for i in members:
                if not out[i].speakers:
                    out[i] = out[i].model_copy(update={"speakers": speakers, "speech": True})
    return out


# "add" reports speech when what follows is what was said ("he added.", "adding that ...",
# "added in a statement"), not when something is added ("adding 113 for the third wicket",
# "added to the list", "no added pressure").
_ADD = re.compile(r"add(?:s|ed|ing)?", re.IGNORECASE)
_ADD_SPEECH = re.compile(r"\s*(?:[,.:;!?\"“”’—–-]|$)|\s+(?:that|in|he|she|they|it|we|I|there|this|"
                         r"these|those)\b")


# Speech words that are not speech here: "an Arab, believed to be a Yemeni", and a noun before
# its verb ("Initial reports spoke of ...", "the Institute's report shows").
_NOT_SPEECH = re.compile(r"(?:believed?|reported|said|thought)\s+to\s+(?:be|have)\b|"
                         r"call(?:s|ed|ing)?\s+(?:in|off|up|at|into|by)\b|"
                         r"claim(?:s|ed|ing)?\s+(?:the\s+)?(?:hundreds|thousands|dozens|lives|victory|"
                         r"title|record|gold|silver|bronze|(?:first|second|third|\w+th)\s+place)\b|"
                         r"(?:reports?|claims?|calls?|estimates?|comments?)\s+(?:show|shows|showed|"
                         r"spoke|suggest|suggests|suggested|indicate|indicates|indicated|found|"
                         r"say|says|said|is|are|was|were|have|has|had)\b", re.IGNORECASE)


def _attributions(sentence: str) -> list[re.Match]:
    """The speech verbs outside quotation marks: “Many have claimed ...” attributes nothing."""
    quoted = _quoted(sentence)
    return [m for m in _SPEECH_VERB.finditer(sentence) if not quoted[m.start()]
            and (not _ADD.fullmatch(m.group()) or _ADD_SPEECH.match(sentence, m.end()))
            and not _NOT_SPEECH.match(sentence, m.start())]


def _quoted(sentence: str) -> list[bool]:
    """For each character, whether it is inside quotation marks. A sentence may close a
    quotation an earlier one opened ("... said it," he added.) or open one it does not close."""
    marks = [m for m in re.finditer(r"[“”\"]", sentence)]
    inside = bool(marks) and _closing(sentence, marks[0])
    flags = [False] * (len(sentence) + 1)
    position = 0
    for mark in marks:
        flags[position:mark.start()] = [inside] * (mark.start() - position)
        flags[mark.start()] = True
        inside = {"“": True, "”": False}.get(mark.group(), not inside)
        position = mark.start() + 1
    flags[position:] = [inside] * (len(flags) - position)
    return flags


def _closing(sentence: str, mark: re.Match) -> bool:
    if mark.group() != '"':
        return mark.group() == "”"
    return mark.start() > 0 and sentence[mark.start() - 1] in ",.?!" \
        and not sentence[mark.end():mark.end() + 1].isalnum()


def _named_subject(sentence: str) -> str | None:
    """The last person a sentence is about: the subject it opens with ("The Foreign Minister
    Alexander Downer has ..."), of a later clause ("..., however Todd Woodbridge hit out"), or
    the agent of a passive ("... was spelt out by spokesman Raanan Gissin")."""
    found = [(m.start(1), m.group(1)) for m in _SUBJECT.finditer(sentence)]
    found += [(m.start(1), m.group(1)) for m in _AGENT.finditer(sentence)]
    for _, phrase in sorted(found, reverse=True):
        name = _clean_name(_person_of(phrase))
        if not name or _ORGANISATION.search(name):
            continue
        words = phrase.split()
        first = len(words) - len(name.split())
        titled = first > 0 and words[first - 1].lower().strip(".") in _TITLE_LIKE
        if len(name.split()) >= 2 or titled:  # "President Musharraf" is a person, "Brussels" not
            return name
    return None


def _person_of(phrase: str) -> str:
    """The name in a subject phrase: "Team captain John Fitzgerald" → "John Fitzgerald"; an
    organisation stays whole ("Pakistan's Foreign Ministry", not "Ministry")."""
    name = _last_run(phrase)
    return phrase if _ORGANISATION.search(name) else name


def _last_run(phrase: str) -> str:
    """The last run of capitalised words: "Team captain John Fitzgerald" → "John Fitzgerald"."""
    runs: list[list[str]] = [[]]
    for word in phrase.split():
        if word[:1].isupper() and (word.lower() in _HONORIFICS
                                   or word.lower().strip(".") not in _TITLE_LIKE):
            runs[-1].append(word)
        elif not re.fullmatch(_PARTICLE, word) or not runs[-1]:
            runs.append([])
        else:
            runs[-1].append(word)
    run = next((r for r in reversed(runs) if r), [])
    while run and re.fullmatch(_PARTICLE, run[-1]):
        run.pop()
    return " ".join(run)


def _is_person(name: str, sentence: str) -> bool:
    """Whether "he" or "she" may stand for this speaker: not an organisation ("the Health
    Service"), not a people ("The Israelis say")."""
    if _ORGANISATION.search(name):
        return False
    return not (" " not in name and name.endswith("s")
                and re.search(rf"\b[Tt]he\s+{re.escape(name)}\b", sentence))


def _role_speaker(sentence: str) -> bool:
    """A speech verb whose subject is a role, not a name ("The British foreign secretary told")."""
    return bool(re.search(rf"\b(?:the|a|an)\s+(?:[a-z]+\s+){{0,3}}[a-z]+{_ADVERB}\s+{_VERB}\b",
                          sentence))
