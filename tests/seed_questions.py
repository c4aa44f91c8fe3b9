"""Questions about the two seed articles, used by the answer tests.

Each answerable question names the article that answers it and phrases of which at least one
must be in a quoted citation. Gold phrases were copied from the articles by a reader.
"""

BGNES = "000_19993ad7f36235d9.txt"
SCMP = "003_ee12390e8f92d40b.txt"

ANSWERABLE = [
    ("What did Campbell warn?", SCMP, ["told China directly if this continues", "We will not sit by"]),
    # his full name, used once in the article, is no reason to quote the sentence that gives it
    ("What did Kurt Campbell warn?", SCMP, ["told China directly if this continues", "We will not sit by"]),
    ("What did Lammy urge Wang Yi to do?", BGNES, ["take all measures to investigate"]),
    ("Who imposed sanctions on two Chinese firms?", BGNES, ["US Treasury Department imposed sanctions"]),
    ("What did China say about supplying lethal weapons?", BGNES, ["never provided lethal weapons"]),
    ("Who was Campbell speaking with?", SCMP, ["Stephen Orlins"]),
    ("What did Xi call the Taiwan issue?", SCMP, ["first red line"]),
    ("What did Lavrov and Xi jointly condemn?", SCMP, ["bloc confrontation"]),
    ("What did Lammy raise about the Uighurs in Xinjiang?", BGNES, ["treatment of the Uighur"]),
    ("What did a spokesman for Keir Starmer say about genocide?", BGNES,
     ["competent international courts"]),
    ("What could Britain and China work together on?", BGNES, ["green energy and artificial intelligence"]),
    ("What did the state broadcaster CGTN report?", BGNES, ["exchanged views"]),
    ("What is the most important mission of the United States according to Campbell?", SCMP,
     ["maintenance of peace and stability in Europe"]),
    ("When did Russia invade Ukraine?", SCMP, ["February 2022"]),
    ("Who is Stephen Orlins?", SCMP, ["president of the New Yorkbased National Committee"]),
]

UNANSWERABLE = [
    "What did Campbell say about North Korea?",
    "How many drones did the Chinese firms export?",
    "When will Blinken visit Beijing?",
    "What did Wang Yi say to Blinken?",
    "What is the capital of France?",
    "Who won the football World Cup in 2022?",
    "What did Lammy say about Taiwan's elections?",
]
