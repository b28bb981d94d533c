"""The offline provider's bank: IELTS topics, each of a kind with its own cue-card shape."""

from __future__ import annotations

from dataclasses import dataclass

from .english import split_words


@dataclass(frozen=True)
class Kind:
    """A shape of cue card; `{subject}` is the topic as named, `{things}` its general form."""

    words: tuple[str, ...]  # head nouns that make a topic this kind
    prompts: tuple[str, ...]
    explain: str
    tail: str  # completes a bare countable topic: "Describe a park" + " that you have visited"
    mass_cue: str  # Part 2 question for an uncountable topic ("cooking"), in `{things}`
    part1: tuple[str, ...]
    part3: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "person": Kind(
        split_words(
            "person teacher friend neighbour relative member child kid parent mother father "
            "mum dad grandparent grandmother grandfather sibling brother sister cousin uncle "
            "aunt colleague boss leader athlete sportsperson singer actor actress musician "
            "artist writer author scientist celebrity hero model stranger classmate doctor "
            "nurse entrepreneur businessman businesswoman politician coach manager student "
            "baby guest host speaker customer partner husband wife son daughter teenager "
            "adult someone somebody player inventor designer chef driver volunteer"
        ),
        ("who this person is", "how you know them", "what they are like", "what they have done"),
        "and explain why this person is important to you.",
        " who has influenced you",
        "Describe an experience you had with {things}.",
        (
            "Do you spend much time with {things}?",
            "Did you know any {things} when you were a child?",
            "What do you usually talk about with {subject}?",
            "Do you find it easy to get on with {things}?",
            "Would you like to be more like {subject}?",
        ),
        (
            "What qualities do people admire most in {things}?",
            "How has the role of {things} in society changed in recent years?",
            "Why do some young people look up to {things}?",
            "Do {things} have more influence on children today than in the past?",
            "Will {things} be seen differently in the future?",
        ),
    ),
    "place": Kind(
        split_words(
            "place city town village country park garden building museum restaurant cafe "
            "shop store beach lake river mountain hometown street library "
            "university school hotel airport station market island forest zoo stadium gym "
            "bridge attraction neighbourhood area region capital coast countryside spot "
            "office workplace church temple mosque palace castle square gallery theatre "
            "cinema campus landmark monument tower valley "
            "desert waterfall farm hill sea ocean destination centre center mall"
        ),
        ("where it is", "when you went there", "what you did there", "who you were with"),
        "and explain how you felt about this place.",
        " that you have visited",
        "Describe a time when you visited {things}.",
        (
            "Do you like spending time in {things}?",
            "How often do you go to {things}?",
            "What do you remember about {subject}?",
            "Did you visit many {things} when you were a child?",
            "Who do you usually go to {things} with?",
        ),
        (
            "Why do people like to visit {things}?",
            "What changes to {things} have you noticed in recent years?",
            "Should the government spend more money on {things}?",
            "What makes {things} pleasant for local people?",
            "Will people visit {things} more or less often in the future?",
        ),
    ),
    "home": Kind(
        split_words("home house flat apartment bedroom room kitchen"),
        ("where it is", "what it looks like", "who you share it with", "what you do there"),
        "and explain how you feel about it.",
        " where you would like to live",
        "Describe a time when you enjoyed being at {things}.",
        (
            "What kind of {things} do you like best?",
            "What do you like most about {subject}?",
            "What would you change about {subject}?",
            "Do you prefer {things} that are modern or traditional?",
            "Did you share {things} with anyone when you were a child?",
        ),
        (
            "How have {things} in your country changed over the last few decades?",
            "Is it better to rent {things} or to buy them?",
            "Why do young people find it hard to afford {things}?",
            "Should the government build more {things}?",
            "Will {things} look different in the future?",
        ),
    ),
    "journey": Kind(
        split_words("trip journey holiday vacation visit tour excursion drive flight voyage ride"),
        ("where you went", "who you went with", "how you travelled", "what you did there"),
        "and explain why it was memorable.",
        " that you remember well",
        "Describe a time when you enjoyed {things}.",
        (
            "Do you enjoy going on {things}?",
            "Who do you usually go on {things} with?",
            "What do you like to take with you on {things}?",
            "Did your family go on many {things} when you were a child?",
            "What do you remember most about {subject}?",
        ),
        (
            "Why do people enjoy going on {things}?",
            "How have {things} changed since your parents were young?",
            "Is it better to plan {things} carefully or to be spontaneous?",
            "Do {things} help people understand other cultures?",
            "Will people go on {things} more or less often in the future?",
        ),
    ),
    "object": Kind(
        split_words(
            "object thing something item gift present photo photograph picture toy vehicle "
            "car bike bicycle motorbike phone smartphone computer laptop watch clothing "
            "clothes dress shirt shoe hat bag furniture machine device gadget jewellery ring "
            "necklace letter souvenir tool appliance equipment possession camera umbrella "
            "wallet key bed chair table sofa clock bottle postcard album collection "
            "instrument tablet"
        ),
        ("what it is", "when you got it", "how you use it", "where you keep it"),
        "and explain why it matters to you.",
        " that is important to you",
        "Describe a piece of {things} that is important to you.",
        (
            "Do you like buying {things}?",
            "Do you keep any {things} from your childhood?",
            "Where do you usually get {things}?",
            "Would you like to have more {things}?",
            "What do you like most about {subject}?",
        ),
        (
            "Why do people sometimes buy {things} they do not need?",
            "How has technology changed the {things} people own?",
            "Do people value {things} less than in the past?",
            "Should companies make {things} built to last longer?",
            "How does advertising influence the {things} people choose?",
        ),
    ),
    "event": Kind(
        split_words(
            "event celebration wedding festival party concert ceremony competition match "
            "birthday anniversary graduation performance show exhibition occasion meeting "
            "conference fair parade race tournament contest reunion meal dinner festivity"
        ),
        ("what happened", "when and where it took place", "who was there", "what you did"),
        "and explain why you remember it so well.",
        " that you remember well",
        "Describe an occasion connected with {things} that you remember well.",
        (
            "Do you enjoy going to {things}?",
            "Do you take photographs at {things}?",
            "Did your family go to many {things} when you were a child?",
            "Who do you usually go to {things} with?",
            "What do you remember most about {subject}?",
        ),
        (
            "Why are {things} important to a society?",
            "Have {things} become too commercial in recent years?",
            "How do large {things} affect a city?",
            "Do young people and older people enjoy {things} in different ways?",
            "Will people attend {things} online more often in the future?",
        ),
    ),
    "activity": Kind(
        split_words("hobby sport game walk activity exercise pastime leisure"),
        (
            "what the activity is",
            "when you started doing it",
            "who you do it with",
            "how often you do it",
        ),
        "and explain why you enjoy it.",
        " that you enjoy",
        "Describe a time when you enjoyed {things}.",
        (
            "Do you enjoy {things}?",
            "Did you enjoy {things} when you were a child?",
            "Is it more fun to enjoy {things} alone or with other people?",
            "How much time do you spend on {things} each week?",
            "Is there anything about {things} you would like to try in the future?",
        ),
        (
            "Why do people need {things} in their lives?",
            "How has people's interest in {things} changed over the last twenty years?",
            "Should schools give children more time for {things}?",
            "Do people have less time for {things} now than in the past?",
            "How can governments encourage people to take up {things}?",
        ),
    ),
    "media": Kind(
        split_words(
            "book film movie song website news story advertisement advert programme program "
            "series documentary magazine newspaper podcast video app article poem novel radio "
            "television tv music blog channel comic cartoon media"
        ),
        ("what it is", "where you found it", "what it is about", "who you would recommend it to"),
        "and explain why it made an impression on you.",
        " that you enjoyed",
        "Describe a memorable experience you had with {things}.",
        (
            "How much time do you spend on {things} each week?",
            "Did you enjoy {things} when you were a child?",
            "Where do you usually find {things} you like?",
            "Do you talk about {things} with your friends?",
            "Would you recommend {subject} to other people?",
        ),
        (
            "How has the internet changed the way people find {things}?",
            "Should there be rules about {things} for children?",
            "Why do some {things} stay popular for a long time?",
            "What influence can {things} have on young people?",
            "Will people enjoy {things} in different ways in the future?",
        ),
    ),
    "skill": Kind(
        split_words(
            "skill language subject course lesson ability talent training qualification "
            "mathematics maths physics chemistry biology geography history science"
        ),
        (
            "what the skill is",
            "when and how you learned it",
            "who helped you",
            "how difficult it was",
        ),
        "and explain how this skill has helped you.",
        " that you would like to learn",
        "Describe a time when you learned something about {things}.",
        (
            "Are you learning any {things} at the moment?",
            "Did you enjoy learning {things} at school?",
            "Do you prefer learning {things} in a group or on your own?",
            "Would you like to learn more {things} in the future?",
            "How do you use {things} in your daily life?",
        ),
        (
            "Which {things} will be most important for young people in the future?",
            "Should {things} be taught in schools?",
            "Is it easier for children or adults to learn {things}?",
            "How has technology changed the way people learn {things}?",
            "Do employers value {things} more than qualifications?",
        ),
    ),
    "experience": Kind(
        split_words(
            "time experience decision mistake surprise achievement change moment situation "
            "problem argument challenge goal plan dream idea advice conversation success "
            "failure risk lie complaint promise rule habit day memory accident emergency "
            "disagreement apology compliment choice opportunity ambition adventure chance "
            "project task"
        ),
        ("when it happened", "where you were", "what happened", "how you dealt with it"),
        "and explain what you learned from this experience.",
        " that you remember well",
        "Describe a time when you experienced {things}.",
        (
            "Do you often think about {subject}?",
            "How often do you tell other people about {subject}?",
            "What would your friends say about {subject}?",
            "How did your family react to {subject}?",
            "Would you like to experience something like {subject} again?",
        ),
        (
            "Why do people remember experiences like {subject} for a long time?",
            "Do young and old people react differently to experiences like {subject}?",
            "Is it better to learn from experiences like {subject} or from advice?",
            "How can experiences like {subject} shape a person's life?",
            "Should schools prepare children for experiences like {subject}?",
        ),
    ),
}

# For a topic the bank cannot place: questions that work for any noun phrase.
GENERAL = Kind(
    (),
    ("when you first heard about it", "what you know about it", "how you feel about it"),
    "and explain why it interests you.",
    " that interests you",
    "Describe an experience connected with {things}.",
    (
        "How often do you think about {subject}?",
        "Did you know much about {subject} when you were a child?",
        "Do your friends ever talk about {subject}?",
        "Would you like to learn more about {subject}?",
        "Where do you usually hear about {subject}?",
    ),
    (
        "Why do people have different opinions about {subject}?",
        "Should schools teach children about {subject}?",
        "Do older and younger people think differently about {subject}?",
        "How do the media influence what people think about {subject}?",
        "Will people care more or less about {subject} in the future?",
    ),
)

# Topic → (kind, Part 2 question). At least fifty, covering the exam's usual themes.
TOPICS: dict[str, tuple[str, str]] = {
    "a memorable trip": ("journey", "Describe a memorable trip you took."),
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
    "volunteering": ("activity", "Describe a time when you volunteered to help others."),
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
