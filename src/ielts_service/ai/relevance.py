"""Does a reply, from any provider, mention its topic or the topic's theme?"""

from __future__ import annotations

from .topics import stems, understand
from .types import Generation


def on_topic(topic: str, generation: Generation) -> bool:
    """True when the part's text names the topic or its theme (a topic with no content word
    to look for, such as 'something', cannot be missed)."""
    keywords = understand(topic).keywords
    text = " ".join([*generation.questions, *generation.prompts])
    return not keywords or not keywords.isdisjoint(stems(text))
