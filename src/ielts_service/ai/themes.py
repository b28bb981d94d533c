"""Abstract themes of IELTS topics: the words that signal each, and questions about it.

`{things}` in a template is the topic in its general form ("climate change", "wild animals");
the other templates name the theme itself, so every question is about the topic or its theme.
"""

from __future__ import annotations

from dataclasses import dataclass

from .english import split_words


@dataclass(frozen=True)
class Theme:
    words: tuple[str, ...]
    mass_cue: str  # Part 2 question for an uncountable topic ("climate change")
    prompts: tuple[str, ...]
    explain: str
    part1: tuple[str, ...]
    part3: tuple[str, ...]
    tail: str = " that you find interesting"  # after a countable topic ("a wild animal")


THEMES: dict[str, Theme] = {
    "environment": Theme(
        split_words(
            "environment environmental climate pollution polluted recycling recycle waste "
            "plastic rubbish litter emissions carbon renewable solar sustainability "
            "sustainable conservation deforestation endangered ecology eco-friendly energy "
            "warming greenhouse"
        ),
        "Describe something people near you do about {things}.",
        ("what they do", "when you first noticed it", "whether you take part in it"),
        "and explain how much difference you think it makes.",
        (
            "Do you do anything at home to help the environment?",
            "Is pollution a problem where you live?",
            "Do you recycle plastic, paper or glass at home?",
            "How often do you hear or read about {things}?",
            "Do you and your friends ever talk about {things}?",
        ),
        (
            "Should governments or individuals be responsible for protecting the environment?",
            "Why do some people not care about pollution?",
            "Will new technology solve the world's environmental problems?",
            "What can ordinary people do about {things}?",
            "Do children today learn enough at school about {things}?",
            "How will {things} affect the way people live in the future?",
        ),
    ),
    "technology": Theme(
        split_words(
            "technology technological tech computer computing internet online smartphone "
            "phone mobile app gadget device digital artificial intelligence robot software "
            "email website science scientific scientist innovation invention machine "
            "electronic screen laptop virtual cyber data space exploration astronaut planet rocket"
        ),
        "Describe a way {things} has changed your daily life.",
        ("what it is", "when you started using it", "how you use it now"),
        "and explain how your life would be different without it.",
        (
            "How much time do you spend using technology each day?",
            "Which app on your phone do you use most?",
            "Did you use a computer much when you were a child?",
            "How often do you come across {things} in your daily life?",
            "What did you first think of {things}?",
        ),
        (
            "How has technology changed the way people communicate?",
            "Do people depend too much on their phones?",
            "Will machines do many of today's jobs in the future?",
            "Who benefits most from {things}, young people or older people?",
            "What problems can {things} cause for society?",
            "How might {things} develop over the next twenty years?",
        ),
    ),
    "education": Theme(
        split_words(
            "education educational school university college student teacher class lesson "
            "study studying learn learning exam homework course degree classroom knowledge "
            "academic teaching graduate graduation tutor kindergarten curriculum scholarship"
        ),
        "Describe an experience of {things} that you remember well.",
        ("when and where it was", "who was involved", "what you learned from it"),
        "and explain why it has stayed in your memory.",
        (
            "What was your favourite subject at school?",
            "Do you prefer to study in the morning or in the evening?",
            "Did you enjoy going to school as a child?",
            "How much did you know about {things} when you were at school?",
            "Do people in your family talk much about {things}?",
        ),
        (
            "What makes a good teacher?",
            "Should university education be free for everyone?",
            "Are exams a fair way to test what students know?",
            "How has your country's approach to {things} changed since your parents' time?",
            "Should the government spend more money on {things}?",
            "How will {things} look different in the future?",
        ),
    ),
    "work": Theme(
        split_words(
            "work working job career office employer employee boss colleague salary business "
            "company profession occupation workplace interview unemployment retire retirement "
            "manager promotion industry earn part-time full-time internship"
        ),
        "Describe an experience of {things} that taught you something.",
        ("when it was", "what you had to do", "who you worked with"),
        "and explain what you learned from it.",
        (
            "Do you work or are you a student?",
            "What kind of job would you like to have in the future?",
            "Do you prefer working alone or in a team?",
            "Have you ever had any personal experience of {things}?",
            "Would you like to know more about {things}?",
        ),
        (
            "What makes a job satisfying for most people?",
            "Should people choose a career for the money or for interest?",
            "How has the way people work changed in recent years?",
            "What are the advantages and disadvantages of {things} for employers?",
            "How might {things} change in the next few decades?",
            "Do young people and older people see {things} differently?",
        ),
    ),
    "health": Theme(
        split_words(
            "health healthy unhealthy fitness exercise diet doctor hospital medicine illness "
            "disease sleep stress nutrition wellbeing well-being mental lifestyle sick injury "
            "smoking obesity workout happiness"
        ),
        "Describe an experience that made you think more about {things}.",
        ("what happened", "when it was", "what you did afterwards"),
        "and explain how it changed your habits.",
        (
            "What do you do to stay healthy?",
            "Do you think you get enough sleep?",
            "How often do you do any exercise?",
            "How much do you think about {things} in your daily life?",
            "Did your parents teach you anything about {things}?",
        ),
        (
            "Why do some people find it hard to live a healthy life?",
            "Should governments spend more on treating illness or on preventing it?",
            "How has people's diet changed in your country over the last few decades?",
            "Why do people pay more attention to {things} now than in the past?",
            "How do the media influence what people think about {things}?",
            "Will people take {things} more seriously in the future?",
        ),
    ),
    "culture": Theme(
        split_words(
            "culture cultural tradition traditional custom festival history historical "
            "heritage religion religious national ceremony folk costume identity etiquette "
            "manners ancient"
        ),
        "Describe an experience that taught you something about {things}.",
        ("when and where it happened", "who you were with", "what you saw or did"),
        "and explain what it taught you.",
        (
            "What is a traditional food in your country?",
            "Do you enjoy learning about other cultures?",
            "Did your grandparents teach you any traditions?",
            "How important is {things} to you personally?",
            "Did you learn much about {things} at school?",
        ),
        (
            "Why is it important to keep traditional customs alive?",
            "How does globalisation affect local culture?",
            "Should children learn about the history of their country?",
            "How have attitudes to {things} in your country changed over the last fifty years?",
            "Should the government spend money protecting {things}?",
            "Will {things} become more or less important in the future?",
        ),
    ),
    "travel": Theme(
        split_words(
            "travel travelling traveller trip journey holiday vacation tourism tourist abroad "
            "destination flight hotel luggage sightseeing backpacking tour passport overseas"
        ),
        "Describe an experience of {things} that you enjoyed.",
        ("where you went", "who you were with", "what you did there"),
        "and explain why you enjoyed it.",
        (
            "Do you like travelling?",
            "Where did you go on holiday when you were a child?",
            "Do you prefer travelling alone or with other people?",
            "Have you ever had a bad experience of {things}?",
            "Do people you know enjoy {things}?",
        ),
        (
            "What are the benefits of travelling to other countries?",
            "How does tourism affect local people?",
            "Why do some people prefer to go on holiday in their own country?",
            "What problems can {things} cause for the environment?",
            "Will {things} become cheaper or more expensive in the future?",
            "Why are people today more interested in {things} than in the past?",
        ),
    ),
    "food": Theme(
        split_words(
            "food meal cooking cook dish eat eating restaurant cuisine recipe breakfast lunch "
            "dinner snack fruit vegetable drink coffee tea kitchen chef takeaway bake baking "
            "chocolate cake picnic"
        ),
        "Describe a time when you enjoyed {things}.",
        ("where you were", "who you were with", "what it was like"),
        "and explain why you remember it.",
        (
            "What is your favourite food?",
            "Do you like cooking?",
            "Do you usually eat at home or in restaurants?",
            "Do you and your friends talk much about {things}?",
            "Has your opinion of {things} changed as you have grown older?",
        ),
        (
            "How have eating habits changed in your country?",
            "Is fast food a problem for young people's health?",
            "Should schools teach children how to cook?",
            "Why do some people care more about {things} than others?",
            "How might {things} change in the future?",
            "Should the government do anything about {things}?",
        ),
    ),
    "sport": Theme(
        split_words(
            "sport football soccer basketball tennis swimming running cycling athlete team "
            "olympics olympic competition champion stadium player gym marathon cricket "
            "badminton volleyball golf skiing boxing yoga"
        ),
        "Describe an experience of {things} that you remember well.",
        ("when and where it was", "who you were with", "what happened"),
        "and explain why you remember it.",
        (
            "Do you like doing sport?",
            "Which sport is most popular in your country?",
            "Did you play any sports at school?",
            "How often do you watch or take part in {things}?",
            "Do any of your friends enjoy {things}?",
        ),
        (
            "Why do some sports get more attention than others?",
            "Should professional athletes be paid so much?",
            "What can children learn from team sports?",
            "Why do some people find {things} more exciting than others do?",
            "Should schools spend more time on {things}?",
            "How could more people be encouraged to try {things}?",
        ),
    ),
    "money": Theme(
        split_words(
            "money shopping shop buy buying spend spending price cost expensive cheap save "
            "saving bank finance financial rich wealth poor poverty budget advertising "
            "advertisement brand consumer market sale economy tax loan credit cash"
        ),
        "Describe an experience of {things} that taught you something.",
        ("what happened", "when it was", "what you did"),
        "and explain what you learned from it.",
        (
            "Do you enjoy shopping?",
            "Do you prefer to save money or spend it?",
            "Did you get pocket money when you were a child?",
            "How often do you think about {things}?",
            "Did your parents teach you anything about {things}?",
        ),
        (
            "Why do some people spend more money than they can afford?",
            "Should children learn how to manage money at school?",
            "Does advertising make people buy things they do not need?",
            "What changes in {things} have you noticed in recent years?",
            "Who benefits most from {things}?",
            "How will {things} be different for the next generation?",
        ),
    ),
    "family": Theme(
        split_words(
            "family parent mother father mum dad grandparent grandmother grandfather brother "
            "sister sibling child kid relative cousin uncle aunt marriage friend friendship "
            "relationship neighbour household baby son daughter husband wife"
        ),
        "Describe a time when {things} mattered a lot to you.",
        ("when it was", "who was involved", "what happened"),
        "and explain why it mattered to you.",
        (
            "Do you spend much time with your family?",
            "How do you usually keep in touch with your friends?",
            "Did you have many friends when you were a child?",
            "How important is {things} to you?",
            "Do people your age talk much about {things}?",
        ),
        (
            "How have families in your country changed over the last fifty years?",
            "Is it better for children to grow up in a big family or a small one?",
            "Why do some friendships last longer than others?",
            "How do people's ideas about {things} change as they get older?",
            "Do people value {things} as much today as in the past?",
            "How might {things} be different in the future?",
        ),
    ),
    "city": Theme(
        split_words(
            "city town village urban rural countryside neighbourhood housing house apartment "
            "flat street traffic transport commute commuting crowded architecture population "
            "road capital suburb community"
        ),
        "Describe an experience of {things} that you remember well.",
        ("where it was", "when it happened", "what it was like"),
        "and explain how you felt about it.",
        (
            "Do you live in a city, a town or a village?",
            "How do you usually travel around your town?",
            "What do you like most about your neighbourhood?",
            "How often do you notice {things} in your daily life?",
            "Do you and your neighbours ever talk about {things}?",
        ),
        (
            "What are the advantages of living in a big city?",
            "How could public transport be improved in cities?",
            "Why do many young people move from the countryside to cities?",
            "In what ways can {things} affect the quality of life in cities?",
            "What should governments do about {things}?",
            "How will {things} be different in twenty years' time?",
        ),
    ),
    "nature": Theme(
        split_words(
            "nature natural animal pet dog cat bird wildlife plant tree flower garden "
            "gardening forest mountain river sea ocean lake beach weather season rain sun "
            "sky outdoor outdoors landscape insect zoo farm wild"
        ),
        "Describe a time when you enjoyed {things}.",
        ("where you were", "when it was", "what you saw or did"),
        "and explain why you enjoyed it.",
        (
            "Do you like spending time outdoors?",
            "Did you have a pet when you were a child?",
            "Do you like growing plants or flowers?",
            "How often do you see {things} where you live?",
            "Did you learn much about {things} as a child?",
        ),
        (
            "Why is it important for children to spend time in nature?",
            "Should people keep wild animals in zoos?",
            "How can cities protect trees and green spaces?",
            "How has people's relationship with {things} changed over time?",
            "Should schools teach children more about {things}?",
            "What threats to {things} worry people most today?",
        ),
    ),
    "art": Theme(
        split_words(
            "art artist painting paint drawing music musical song singer musician concert "
            "gallery theatre photography dance dancing poetry poem literature novel "
            "sculpture design creative creativity instrument piano guitar opera"
        ),
        "Describe an experience of {things} that you enjoyed.",
        ("what it was", "where you saw or heard it", "who you were with"),
        "and explain why you enjoyed it.",
        (
            "Did you enjoy art lessons at school?",
            "What kind of music do you like?",
            "Have you ever been to an art gallery?",
            "How often do you enjoy {things} in your free time?",
            "Would you like to learn more about {things}?",
        ),
        (
            "Should the government pay for museums and art galleries?",
            "How has technology changed the way people listen to music?",
            "Is it important for children to learn music or painting at school?",
            "Why do people of different ages enjoy different kinds of {things}?",
            "How can young people be encouraged to take an interest in {things}?",
            "Will {things} be more or less important to people in the future?",
        ),
        " that you admire",
    ),
}
