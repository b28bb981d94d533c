"""The offline provider's bank: IELTS topics, each of a kind with its own cue-card shape."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    prompts: tuple[str, ...]
    explain: str
    part1: tuple[str, ...]
    part3: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "person": Kind(
        ("who this person is", "how you know them", "what they are like", "what they have done"),
        "and explain why this person is important to you.",
        (
            "Do you spend much time with your family?",
            "Who did you admire most when you were a child?",
            "Do you prefer spending time alone or with other people?",
            "How do you usually keep in touch with friends and family?",
            "Has anyone influenced the way you study or work?",
        ),
        (
            "What qualities make someone a good role model?",
            "Do famous people have a responsibility to behave well in public?",
            "How has the way people meet new friends changed in recent years?",
            "Why do some people influence others more than their parents do?",
            "Will young people admire different kinds of people in the future?",
        ),
    ),
    "place": Kind(
        ("where it is", "when you went there", "what you did there", "who you were with"),
        "and explain how you felt about this place.",
        (
            "Do you like visiting new places in your free time?",
            "What kind of places do you like to go to at the weekend?",
            "Is there a place near your home where you like to relax?",
            "Did you travel much when you were younger?",
            "Would you like to live somewhere different in the future?",
        ),
        (
            "Why do people like to visit famous places?",
            "How does tourism change a town or city?",
            "Should historic places be protected by the government?",
            "Do you think cities will become better or worse places to live?",
            "What makes a public space pleasant for local people?",
        ),
    ),
    "object": Kind(
        ("what it is", "when you got it", "how you use it", "where you keep it"),
        "and explain why it matters to you.",
        (
            "Do you like buying new things for yourself?",
            "Is there something you use every day that you could not live without?",
            "Do you prefer shopping online or in shops?",
            "Did you keep any toys or gifts from your childhood?",
            "How often do you give presents to other people?",
        ),
        (
            "Why do people sometimes buy things they do not need?",
            "How has technology changed the objects people own?",
            "Do you think people value their possessions less than in the past?",
            "Should companies make products that last longer?",
            "How does advertising influence what people buy?",
        ),
    ),
    "event": Kind(
        ("what happened", "when and where it took place", "who was there", "what you did"),
        "and explain why you remember it so well.",
        (
            "Do you enjoy going to celebrations and parties?",
            "How do you usually celebrate your birthday?",
            "What is the most popular festival in your country?",
            "Do you take photographs at special events?",
            "Did your family celebrate special days when you were a child?",
        ),
        (
            "Why are traditional celebrations important to a society?",
            "Have celebrations become too commercial in recent years?",
            "How do large public events affect a city?",
            "Do young people and older people celebrate in different ways?",
            "Will people celebrate online more often in the future?",
        ),
    ),
    "activity": Kind(
        (
            "what the activity is",
            "when you started doing it",
            "who you do it with",
            "how often you do it",
        ),
        "and explain why you enjoy it.",
        (
            "What do you like to do in your free time?",
            "Do you prefer indoor or outdoor activities?",
            "Did you have a hobby when you were a child?",
            "How much free time do you have during the week?",
            "Is there an activity you would like to try in the future?",
        ),
        (
            "Why do people need hobbies and leisure activities?",
            "How have leisure activities changed over the last twenty years?",
            "Should schools give children more time for sports and the arts?",
            "Do people have less free time now than in the past?",
            "How can governments encourage people to be more active?",
        ),
    ),
    "experience": Kind(
        ("when it happened", "where you were", "what happened", "how you dealt with it"),
        "and explain what you learned from this experience.",
        (
            "Do you like trying new things?",
            "How do you usually feel when you have to wait for something?",
            "Do you find it easy to make decisions?",
            "What did you enjoy doing most last weekend?",
            "Do you prefer to plan your day or be spontaneous?",
        ),
        (
            "Why do some people enjoy taking risks?",
            "Is it better to learn from your own mistakes or from other people's advice?",
            "How do experiences in childhood shape adult life?",
            "Do you think people today have more varied experiences than in the past?",
            "Should young people travel before starting work or university?",
        ),
    ),
    "media": Kind(
        ("what it is", "where you found it", "what it is about", "who you would recommend it to"),
        "and explain why it made an impression on you.",
        (
            "Do you read books or watch films more often?",
            "How do you usually find out about the news?",
            "Did you read a lot when you were a child?",
            "Do you prefer watching films at home or in the cinema?",
            "What kind of music do you listen to?",
        ),
        (
            "How has the internet changed the way people get information?",
            "Should governments control what is shown on television?",
            "Why do some books or films stay popular for a long time?",
            "Do you think printed newspapers will disappear?",
            "How do films and books influence young people?",
        ),
    ),
    "skill": Kind(
        (
            "what the skill is",
            "when and how you learned it",
            "who helped you",
            "how difficult it was",
        ),
        "and explain how this skill has helped you.",
        (
            "Are you learning anything new at the moment?",
            "Do you prefer learning in a group or on your own?",
            "What subject did you enjoy most at school?",
            "Is there a skill you would like to learn in the future?",
            "Do you use the internet to learn new things?",
        ),
        (
            "What skills will be most important for young people in the future?",
            "Should practical skills be taught in schools as well as academic subjects?",
            "Is it easier for children or adults to learn new skills?",
            "How has technology changed the way people learn?",
            "Do employers value experience more than qualifications?",
        ),
    ),
}

# Topic → (kind, Part 2 question). At least fifty, covering the exam's usual themes.
TOPICS: dict[str, tuple[str, str]] = {
    "a memorable trip": ("place", "Describe a memorable trip you took."),
    "a person who inspires you": ("person", "Describe a person who inspires you."),
    "a teacher you remember": ("person", "Describe a teacher who had an influence on you."),
    "a family member": ("person", "Describe a family member you are close to."),
    "a friend": ("person", "Describe a good friend of yours."),
    "a famous person": ("person", "Describe a famous person you would like to meet."),
    "a helpful neighbour": ("person", "Describe a neighbour who has helped you."),
    "an elderly person": ("person", "Describe an elderly person you respect."),
    "a child you know": ("person", "Describe a child who made you laugh."),
    "a city you visited": ("place", "Describe a city you have visited."),
    "a park": ("place", "Describe a park or garden you like to visit."),
    "your hometown": ("place", "Describe the town or city where you grew up."),
    "a building": ("place", "Describe an interesting building you have seen."),
    "a quiet place": ("place", "Describe a quiet place where you like to spend time."),
    "a restaurant": ("place", "Describe a restaurant you enjoyed eating at."),
    "a museum": ("place", "Describe a museum or gallery you have visited."),
    "a place near water": ("place", "Describe a place near water, such as a lake or beach."),
    "a gift": ("object", "Describe a gift you received that was special to you."),
    "a piece of technology": ("object", "Describe a piece of technology you find useful."),
    "a photograph": ("object", "Describe a photograph that you like."),
    "something you bought": ("object", "Describe something you bought recently."),
    "a piece of clothing": ("object", "Describe a piece of clothing you like to wear."),
    "an old object": ("object", "Describe an old object that your family has kept."),
    "a toy from childhood": ("object", "Describe a toy you played with as a child."),
    "a vehicle": ("object", "Describe a vehicle you would like to own."),
    "a celebration": ("event", "Describe a celebration you attended."),
    "a wedding": ("event", "Describe a wedding you went to."),
    "a festival": ("event", "Describe a festival that is important in your country."),
    "a sports event": ("event", "Describe a sports event you watched or took part in."),
    "a concert": ("event", "Describe a concert or live performance you saw."),
    "a party": ("event", "Describe a party you enjoyed."),
    "a meal with friends": ("event", "Describe a special meal you had with friends."),
    "a hobby": ("activity", "Describe a hobby you enjoy."),
    "a sport": ("activity", "Describe a sport you like to play or watch."),
    "cooking": ("activity", "Describe a dish you like to cook."),
    "a walk": ("activity", "Describe a walk you enjoyed."),
    "an outdoor activity": ("activity", "Describe an outdoor activity you did recently."),
    "a game": ("activity", "Describe a game you enjoyed playing."),
    "volunteering": ("activity", "Describe a time you did voluntary work."),
    "a difficult decision": ("experience", "Describe a difficult decision you made."),
    "a time you were late": ("experience", "Describe a time when you were late for something."),
    "a surprise": ("experience", "Describe a pleasant surprise you had."),
    "a mistake": ("experience", "Describe a mistake you made and what happened."),
    "a time you helped someone": ("experience", "Describe a time when you helped someone."),
    "an achievement": ("experience", "Describe an achievement you are proud of."),
    "a change in your life": ("experience", "Describe an important change in your life."),
    "a time you waited": ("experience", "Describe a time when you had to wait a long time."),
    "a book": ("media", "Describe a book you have read recently."),
    "a film": ("media", "Describe a film you enjoyed watching."),
    "a song": ("media", "Describe a song that means a lot to you."),
    "a website": ("media", "Describe a website you often use."),
    "a news story": ("media", "Describe a news story you found interesting."),
    "an advertisement": ("media", "Describe an advertisement you remember."),
    "a foreign language": ("skill", "Describe a foreign language you would like to learn."),
    "a skill you learned": ("skill", "Describe a skill you learned that took a long time."),
    "a subject at school": ("skill", "Describe a subject you enjoyed studying at school."),
    "a course you took": ("skill", "Describe a course you took outside school."),
    "a practical skill": ("skill", "Describe a practical skill you have, such as fixing things."),
}
