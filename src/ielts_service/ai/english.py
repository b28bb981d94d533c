"""The little English grammar the offline provider needs: a/an, singular and plural nouns."""

from __future__ import annotations

# Irregular plurals of nouns that IELTS topics use; the regular rules below do the rest.
_IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "foot": "feet",
    "tooth": "teeth",
    "mouse": "mice",
    "wife": "wives",
    "life": "lives",
    "knife": "knives",
    "leaf": "leaves",
    "shelf": "shelves",
    "thief": "thieves",
    "hero": "heroes",
    "potato": "potatoes",
}
_SINGULAR_OF = {plural: singular for singular, plural in _IRREGULAR.items()}
# Nouns ending in -s that are not plurals (or whose singular is the same word).
_NOT_PLURAL = {
    "news",
    "bus",
    "gas",
    "series",
    "species",
    "physics",
    "mathematics",
    "maths",
    "economics",
    "politics",
    "athletics",
    "gymnastics",
    "clothes",
    "glasses",
    "jeans",
    "lens",
    "campus",
    "virus",
    "bonus",
    "status",
    "chess",
    "fitness",
    "business",
    "happiness",
    "stress",
    "success",
    "address",
    "dress",
    "class",
    "boss",
    "loss",
    "crisis",
    "basis",
    "analysis",
    "tennis",
    "means",
    "christmas",
}
_NOT_MAN = {"human", "german", "roman", "shaman"}
# Past forms of the irregular verbs topics use, so that 'bought' mentions 'buy'.
_LEMMAS = {
    "bought": "buy",
    "brought": "bring",
    "taught": "teach",
    "thought": "think",
    "met": "meet",
    "gave": "give",
    "given": "give",
    "took": "take",
    "taken": "take",
    "saw": "see",
    "seen": "see",
    "wrote": "write",
    "written": "write",
    "ate": "eat",
    "eaten": "eat",
    "felt": "feel",
    "lost": "lose",
    "won": "win",
    "told": "tell",
    "spent": "spend",
    "kept": "keep",
    "built": "build",
    "heard": "hear",
    "found": "find",
    "chose": "choose",
    "chosen": "choose",
    "sang": "sing",
    "sung": "sing",
    "flew": "fly",
    "drove": "drive",
    "driven": "drive",
    "began": "begin",
    "begun": "begin",
    "learnt": "learn",
    "grew": "grow",
    "grown": "grow",
}
# Words spelt with a vowel but said with a consonant sound, and the reverse.
_A_BEFORE = ("uni", "use", "usu", "uti", "eu", "one", "once", "ufo", "ukr", "ura", "ure", "uro")
_AN_BEFORE = ("hour", "honest", "honour", "honor", "heir")


def indefinite_article(word: str) -> str:
    """'a' or 'an' for the word that follows it ('an hour', 'a university', 'an MBA')."""
    lower = word.lower()
    if word.isupper() and len(word) > 1:
        return "an" if lower[0] in "aefhilmnorsx" else "a"
    if lower.startswith(_AN_BEFORE):
        return "an"
    if lower.startswith(_A_BEFORE):
        return "a"
    return "an" if lower[:1] in {"a", "e", "i", "o", "u"} else "a"


def singular(noun: str) -> str:
    """The singular of an English noun; a word that is not a plural comes back unchanged."""
    lower = noun.lower()
    if lower in _SINGULAR_OF:
        return _SINGULAR_OF[lower]
    if lower.endswith("men") and lower[:-3] + "man" not in _NOT_MAN and len(lower) > 4:
        return lower[:-3] + "man"
    if lower in _NOT_PLURAL or len(lower) < 4 or not lower.endswith("s"):
        return lower
    if lower.endswith(("ss", "us", "is")):
        return lower
    if lower.endswith("ies"):
        return lower[:-3] + "y"
    if lower.endswith(("ches", "shes", "xes", "sses", "zes")):
        return lower[:-2]
    return lower[:-1]


def plural(noun: str) -> str:
    """The plural of an English noun in the singular."""
    lower = noun.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower in _NOT_PLURAL:
        return lower
    if lower.endswith("man") and lower not in _NOT_MAN:
        return lower[:-3] + "men"  # businessman, postman
    if lower.endswith("y") and lower[-2:-1] not in {"a", "e", "i", "o", "u"}:
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def lemma(word: str) -> str:
    """The present form of an irregular past ('bought' -> 'buy'); other words unchanged."""
    return _LEMMAS.get(word, word)


def split_words(text: str) -> tuple[str, ...]:
    """The words of a space-separated list, as written in the word tables."""
    return tuple(text.split())
