"""What a topic is about: normalised wording, its kind and theme, the words that mention it.

`understand("my favourite teacher")` names the subject ("your favourite teacher"), its general
form ("teachers"), its kind (person) and theme (education), and how it matched the bank:
`exact` (a bank topic), `kind`, `theme`, or `fallback`. Everything is local and deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from rapidfuzz import fuzz, process

from .english import indefinite_article, lemma, plural, singular, split_words
from .themes import THEMES
from .topic_bank import KINDS, TOPICS
from .types import TopicMatch

DETERMINERS = {"a", "an", "the", "your", "some", "any", "his", "her", "their", "our"}
# The candidate's own words, turned to address the candidate.
_PRONOUNS = {
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "me": "you",
    "i": "you",
    "i'm": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
}
_AFTER_I = {"am": "are", "was": "were"}
# Words that end the noun phrase and start what qualifies it ("a person | who inspires you").
_BOUNDARY = set(
    split_words(
        "who whom whose that which where when why how you your to from in at on with for about of "
        "by during near as and or than like into over under after before since while"
    )
)
_MEASURES = {"piece", "kind", "type", "sort", "bit", "pair", "item", "form", "part"}
# Judgements that say nothing about what the topic is ("a memorable trip" is a trip).
_EVALUATIVE = set(
    split_words(
        "favourite favorite memorable special important interesting good great best nice "
        "recent beautiful wonderful difficult unusual exciting enjoyable perfect amazing "
        "excellent bad worst happy sad strange useful"
    )
)
_STOPWORDS = set(
    split_words(
        "a an the of to in on at for with about from by and or that which who whom whose when "
        "where what why how this these those there it its you your yours yourself he she his "
        "her they their them we our i my me is was were are be been being am do did does done "
        "have has had would could should will can may might must not no one some any very "
        "really just also so than then time thing things something someone somebody anything "
        "way kind type sort piece lot bit part recently ago last first ever never often once "
        "made make makes get got go went going like liked want wanted use used"
    )
)
_UNCOUNTABLE = set(
    split_words(
        "clothing furniture jewellery equipment news music advice information homework "
        "technology media television tv leisure training knowledge countryside"
    )
)
# Heads that say little on their own: their general form keeps the clause that qualifies them.
_GENERAL_HEADS = {
    "person": "people",
    "someone": "people",
    "somebody": "people",
    "place": "places",
    "thing": "things",
    "something": "things",
}
_GENERAL_OF = {"hometown": "towns and cities"}
_NOT_ACTIVITIES = set(
    split_words(
        "advertising housing clothing recycling smoking training building wedding meeting "
        "morning evening spring ceiling wellbeing nothing anything everything something "
        "thing feeling king ring sing bring"
    )
)
_NO_WORDS = ["this", "topic"]  # what a topic of punctuation alone is called
_PLURAL_VERBS = {"is": "are", "was": "were", "has": "have", "does": "do", "goes": "go"}

_stemmer = Stemmer.Stemmer("english")
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_KIND_OF = {word: name for name, kind in KINDS.items() for word in kind.words}
_THEME_OF = {word: name for name, theme in THEMES.items() for word in theme.words}
_THEME_STEMS = {
    name: frozenset(_stemmer.stemWords([singular(w) for w in theme.words]))
    for name, theme in THEMES.items()
}
_COMPOUNDS = {
    "social media": "media",
    "tv show": "media",
    "role model": "person",
    "family member": "person",
    "video game": "activity",
    "public speaking": "skill",
    "first aid": "skill",
}
_VOCABULARY = frozenset([*_KIND_OF, *_THEME_OF, *_STOPWORDS, *_EVALUATIVE, *DETERMINERS])
_FUZZY_MIN_LENGTH = 6


@dataclass(frozen=True)
class Topic:
    """A topic as the offline provider and the relevance check understand it."""

    key: str  # the normalised wording: what determinism and caching are keyed on
    match: TopicMatch
    kind: str | None
    theme: str | None
    subject: str  # "your favourite teacher", "a memorable trip", "climate change"
    things: str  # "teachers", "memorable trips", "climate change"
    describable: bool  # "Describe {subject}." reads well: it names one thing, or someone
    qualified: bool  # already says which one ("your …", "… who inspires you")
    bank_question: str | None
    keywords: frozenset[str]  # stems whose presence means a text mentions the topic


@dataclass(frozen=True)
class _Phrase:
    determiner: str | None
    words: list[str]  # what follows the determiner
    core: list[str]  # the noun phrase: modifiers, then the head as written
    head: str  # lower case and singular
    rest: list[str]  # what qualifies the noun phrase ("who inspires you")
    plural: bool  # the topic names several ("your parents")
    gerund: bool  # an activity named by its verb ("playing chess")


def stems(text: str) -> set[str]:
    """The stems of a text's words, plurals made singular first ('people' -> 'person')."""
    words = [lemma(singular(w)) for w in _WORD.findall(_fold(text))]
    return set(_stemmer.stemWords(words))


def _fold(text: str) -> str:
    """Lower case without accents: 'Café' -> 'cafe'."""
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()


@lru_cache(maxsize=4096)
def understand(topic: str) -> Topic:
    """Normalise a topic and match it to the bank, a kind, a theme, or nothing."""
    words = _normalised_words(topic)
    if all(word in DETERMINERS for word in words):
        words = _NO_WORDS
    phrase = _parse(words)
    kind = "activity" if phrase.gerund else _kind_of(phrase)
    theme = _theme_of(phrase.head, words)
    bank = _bank_entry(phrase)
    match: TopicMatch
    if bank is not None:
        match, kind = "exact", bank[0]
    elif kind is not None and not (kind == "experience" and theme and not phrase.determiner):
        match = "kind"
    elif theme is not None:
        match, kind = "theme", None
    else:
        match = "fallback"
    kind_noun = match in {"exact", "kind"} and phrase.head in _KIND_OF
    subject, describable = _subject(phrase, kind_noun)
    things = _things(phrase, kind_noun)
    return Topic(
        key=" ".join(words).lower(),
        match=match,
        kind=kind,
        theme=theme,
        subject=subject,
        things=things,
        describable=describable,
        qualified=bool(phrase.rest) or phrase.determiner in {"your", "the", "his", "her"},
        bank_question=bank[1] if bank else None,
        keywords=frozenset() if words is _NO_WORDS else _keywords(subject, things, theme),
    )


def _normalised_words(topic: str) -> list[str]:
    """Words of the topic: no end punctuation, the candidate addressed as 'you', and capitals
    kept only where they may matter (names, acronyms)."""
    text = unicodedata.normalize("NFKC", topic).replace("\u2019", "'")
    if text.isupper() and " " in text.strip():
        text = text.lower()  # "A MEMORABLE TRIP" is shouted, not a row of acronyms
    words = re.sub(r"[?!.;:,\"]+", " ", text).split()
    if words and words[0].lower() in {"describe", "talk"}:
        words = words[2:] if words[1:2] == ["about"] else words[1:]
    title_case = all(w[:1].isupper() for w in words if w[:1].isalpha())
    out: list[str] = []
    for i, word in enumerate(words):
        lower = word.lower()
        if i and words[i - 1].lower() == "i" and lower in _AFTER_I:
            out.append(_AFTER_I[lower])
        elif lower in _PRONOUNS:
            out.append(_PRONOUNS[lower])
        elif word.isupper() and len(word) > 1:
            out.append(word)  # TV, AI, UK
        elif (lower in _VOCABULARY and (i == 0 or title_case)) or (
            i == 0 and len(words) > 1 and not title_case  # "Public transport"
        ):
            out.append(lower)
        else:
            out.append(word)
    return _fix_articles(out)


def _fix_articles(words: list[str]) -> list[str]:
    """No article doubled ('a the park'), and 'a' or 'an' as the next word is said."""
    fixed: list[str] = []
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else None
        if word in DETERMINERS and following and following.lower() in DETERMINERS:
            continue
        if word in {"a", "an"} and following:
            word = indefinite_article(following)
        fixed.append(word)
    return fixed


def _parse(words: list[str]) -> _Phrase:
    determiner = words[0].lower() if words and words[0].lower() in DETERMINERS else None
    body = words[1:] if determiner else list(words)
    if not body:
        return _Phrase(determiner, body, [], "", [], False, False)
    first = body[0].lower()
    if determiner is None and first.endswith("ing") and first not in _NOT_ACTIVITIES:
        return _Phrase(None, body, body, first, [], False, True)
    core, rest = _split(body)
    if core[-1].lower() in _MEASURES and rest[:1] == ["of"] and rest[1:]:
        core, rest = _split(rest[1:])  # "a piece of | advice"
    if core[0].lower() in _GENERAL_HEADS:  # "something | expensive"
        core = [*core[1:], core[0]]
    head = singular(core[-1])
    plural = head != core[-1].lower()
    if plural and determiner is None and not rest and core == body:
        # "memorable trips" is the topic "a memorable trip"
        determiner, plural = "a", False
        core = body = [*core[:-1], head]
    return _Phrase(determiner, body, core, head, rest, plural, False)


def _split(words: list[str]) -> tuple[list[str], list[str]]:
    """(noun phrase, what qualifies it): 'a person | who inspires you'."""
    end = next((i for i, w in enumerate(words) if i and w.lower() in _BOUNDARY), len(words))
    return words[:end], words[end:]


def _kind_of(phrase: _Phrase) -> str | None:
    compound = " ".join([*phrase.core[-2:-1], phrase.head]).lower()
    return _COMPOUNDS.get(compound) or _lookup(phrase.head, _KIND_OF)


def _theme_of(head: str, words: list[str]) -> str | None:
    """The theme of the head noun, else the theme most of the topic's words belong to."""
    if head and (theme := _lookup(head, _THEME_OF)):
        return theme
    found = [_lookup(singular(w), _THEME_OF) for w in words if w.lower() not in _STOPWORDS]
    themes = [t for t in found if t]
    return max(themes, key=themes.count) if themes else None


def _lookup(word: str, table: dict[str, str]) -> str | None:
    """The word's entry, allowing for a typo in a longer word that is no other known word
    ('resturant', 'tecnology')."""
    word = _fold(word)
    if word in table:
        return table[word]
    if len(word) < _FUZZY_MIN_LENGTH or word in _VOCABULARY:
        return None
    best = process.extractOne(word, table.keys(), scorer=fuzz.ratio, score_cutoff=90)
    return table[best[0]] if best else None


_BANK = {" ".join(_parse(_normalised_words(topic)).words).lower(): e for topic, e in TOPICS.items()}


def _bank_entry(phrase: _Phrase) -> tuple[str, str] | None:
    key = " ".join(phrase.words).lower()
    if key in _BANK:
        return _BANK[key]
    if len(phrase.words) < 2:
        return None  # one word: 'photography' is not a misspelt 'photograph'
    best = process.extractOne(key, _BANK.keys(), scorer=fuzz.ratio, score_cutoff=92)
    return _BANK[best[0]] if best else None


def _subject(phrase: _Phrase, kind_noun: bool) -> tuple[str, bool]:
    """The topic as it reads after 'Describe' (an article when it needs one, the right one),
    and whether it names something one can describe."""
    body = " ".join(phrase.words)
    needs_article = (
        phrase.determiner is None
        and kind_noun
        and not phrase.plural
        and phrase.head not in _UNCOUNTABLE
        and phrase.head not in _GENERAL_HEADS
    )
    if phrase.determiner in {"a", "an"} or needs_article:
        return f"{indefinite_article(phrase.words[0])} {body}", True
    if phrase.determiner:
        return f"{phrase.determiner} {body}", phrase.determiner != "the" or kind_noun
    return body, phrase.head in _GENERAL_HEADS


def _things(phrase: _Phrase, kind_noun: bool) -> str:
    """The topic in general: 'famous people', 'memorable trips', 'climate change'."""
    modifiers = [w for w in phrase.core[:-1] if w.lower() not in _EVALUATIVE]
    head = phrase.head
    if head in _GENERAL_HEADS:  # "people who inspire you": the clause says who
        clause = _plural_clause(phrase.rest, people=_GENERAL_HEADS[head] == "people")
        return " ".join([*modifiers, _GENERAL_HEADS[head], *clause])
    if head in _GENERAL_OF:
        return _GENERAL_OF[head]
    countable = kind_noun or phrase.plural or phrase.determiner in {"a", "an"}
    if countable and head not in _UNCOUNTABLE and (kind_noun or phrase.determiner != "the"):
        return " ".join([*modifiers, plural(head)])
    lead = [phrase.determiner] if phrase.determiner in {"the", "your"} else []
    return " ".join([*lead, *phrase.core])


def _plural_clause(rest: list[str], *, people: bool) -> list[str]:
    """The clause for several, about people in general: 'who inspires you' -> 'who inspire
    others', 'where you like to relax' -> 'where people like to relax'."""
    out = list(rest)
    if len(out) >= 2 and out[0].lower() in {"who", "that", "which"}:
        verb = out[1].lower()
        out[1] = _PLURAL_VERBS.get(verb) or (singular(verb) if verb.endswith("s") else verb)
    for i, word in enumerate(out):
        if word.lower() == "you":
            opens_clause = (i == 0 and not people) or (i > 0 and out[i - 1].lower() in _BOUNDARY)
            out[i] = "people" if opens_clause else "others"
    return out


def _keywords(subject: str, things: str, theme: str | None) -> frozenset[str]:
    own = {s for s in stems(f"{subject} {things}") if s not in _STOP_STEMS}
    return frozenset(own | (_THEME_STEMS[theme] if theme else set()))


_STOP_STEMS = frozenset(stems(" ".join([*_STOPWORDS, *_EVALUATIVE])))
