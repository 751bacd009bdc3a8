"""Test support: sentences for the natural-speech (Piper) timing benchmark and its held-out check.

Written for this purpose (issue 22): narration, dialogue, questions, short and long lines, names,
numbers and abbreviations. ``BENCH`` is what bench/timing_accuracy.py reports on; ``HELD_OUT`` is never
used to choose anything in the aligner and is what tests/test_e2e_stt_natural.py sends through ``stt``.
"""

BENCH = [
    # narration
    "The old lighthouse stood alone at the edge of the cliff.",
    "By the time the rain stopped, the streets were empty and quiet.",
    "She folded the letter twice and hid it under a loose floorboard.",
    "Every morning the baker opened his shop before the sun came up.",
    "The river had flooded the lower fields, so the farmers waited.",
    "A small grey cat followed them all the way back to the station.",
    "Nobody noticed the painting was missing until the following Tuesday.",
    "He walked slowly, counting the steps between each lamp post.",
    "Outside, the wind pushed against the shutters all night long.",
    "The museum closes early on Sundays, but the garden stays open.",
    # dialogue
    '"Put the kettle on," said Martha, "we have guests coming."',
    '"I never said that," he replied, looking straight at the judge.',
    "Listen to me: we leave at dawn, and nobody talks about it.",
    "Well, if you insist, I suppose we could try it your way.",
    "Thank you so much for coming, it really means a lot to us.",
    "Don't touch that wire, it's still connected to the battery!",
    # questions
    "Where did you put the keys to the blue van?",
    "Have you ever seen snow falling on the ocean?",
    "Why would anyone build a house on top of a volcano?",
    "Could you tell me how to get to the nearest pharmacy?",
    "Is it true that octopuses have three hearts?",
    "What time does the last bus leave for Bristol tonight?",
    # short lines
    "Not again.",
    "Come here, quickly.",
    "It's over.",
    "Good morning, everyone.",
    "Yes, of course.",
    "Absolutely not!",
    # long lines
    "When the committee finally met in the spring, they agreed to rebuild the bridge, widen the road "
    "and plant a row of chestnut trees along the canal.",
    "Although the expedition had planned for every kind of weather, nobody expected the storm that "
    "kept them inside their tents for nine long days.",
    "The report explains how the team collected samples from the lake, measured the temperature at "
    "different depths and compared the results with earlier studies.",
    # names
    "Priya and Tomasz met Ingrid outside the cathedral in Copenhagen.",
    "Professor Okonkwo asked Siobhan to review the chapter on Nairobi.",
    "Giuseppe drove from Marseille to Barcelona with his cousin Ayesha.",
    "Captain Alvarez handed the map to Lieutenant Fitzgerald.",
    # numbers
    "The flight leaves at 6:30 and lands in Denver at 9:15.",
    "She ran 42 kilometres in 3 hours and 58 minutes.",
    "In 1969, about 600 million people watched the landing.",
    "The bill came to $37.50, including a 15% tip.",
    "Room 214 is on the 2nd floor, next to the lift.",
    "He was born on 4 July 1987 in a small town near Leeds.",
    # abbreviations
    "Dr. Patel and Mrs. Lee will join the call at 3 pm.",
    "The U.S. team won gold, and the U.K. took silver.",
    "Mr. Brown works for the BBC as a sound engineer.",
    "St. Mary's Hospital is on the corner of Elm St. and Park Ave.",
]

HELD_OUT = [
    "The children built a tall tower out of wooden blocks.",
    "After a long pause, the captain turned and walked away.",
    '"Are you coming with us?" asked Helena, holding the door.',
    "Dr. Nakamura arrived in Oslo at 8:20 on a cold morning.",
    "Please bring two loaves of bread, some cheese and a bottle of milk.",
    "Honestly, I think we should wait until the weather improves.",
    "Mrs. Dubois paid $12.80 for the tickets.",
    "Quiet, everyone.",
    "Where were you on the night of 12 March?",
    "The engineers at N.A.S.A. tested the new engine twice before launch.",
]

# Written on 2026-12-07 for issue 20's acceptance (tests/test_e2e_stt_verify.py) after HELD_OUT had been
# used to find and fix the script check's misses: never run through the check before that test's
# first run on them, and nothing in the check chosen on them.
CHECK_HELD_OUT = [
    "The librarian stamped every book before closing the heavy doors.",
    "Could you pass me the salt and the pepper, please?",
    "Captain Alvarez sailed from Lisbon in 1987 with a crew of nine.",
    "My grandmother grew tomatoes, beans and sunflowers behind the garage.",
    "We missed the last train, so we walked home under the stars.",
    "The museum opens at 9:30 and closes at five.",
    "Nobody expected the quiet student to win the chess tournament.",
    "Turn left at the bakery, then follow the river to the bridge.",
    "Professor Lindqvist explained the experiment in simple words.",
    "Thank you, everyone, for coming tonight.",
]
