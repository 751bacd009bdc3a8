"""Pronunciations: whole-word, case rules, longest first, limits; typed words mapped over their respellings."""

from __future__ import annotations

import pytest

from f5worker.media.pronunciations import MAX_ENTRIES, Lexicon, entry_problem, lexicon_problem
from f5worker.media.text_normalize import normalize_english
from f5worker.timing.aligner import spoken_token_map


def test_whole_words_only_and_possessive_s():
    lexicon = Lexicon({"SQL": "sequel", "GIF": "jif", "don": "dawn"})
    assert lexicon.say("MySQL and SQL, SQLite") == "MySQL and sequel, SQLite"
    assert lexicon.say("GIF's GIF-based (GIF) GIFs") == "jif's jif-based (jif) GIFs"
    assert lexicon.say("don't, Don") == "don't, dawn"


def test_exact_case_first_then_lower_case_entries_match_any_case():
    lexicon = Lexicon({"US": "you ess", "us": "uss", "Okonkwo": "oh-KONK-woh"})
    assert lexicon.say("US Us us uS") == "you ess uss uss uss"
    assert lexicon.say("Okonkwo okonkwo OKONKWO") == "oh-KONK-woh okonkwo OKONKWO"  # not lower case: exact only


def test_longest_entry_wins_and_numbers_can_be_respelled():
    lexicon = Lexicon({"Node": "nohd", "Node.js": "node jay ess", "911": "nine one one"})
    assert lexicon.say("Node.js, Node. Call 911.") == "node jay ess, nohd. Call nine one one."
    assert lexicon.used("Node.js, Node. Call 911. Node") == ["Node.js", "Node", "911"]


def test_job_entries_win_over_a_stored_lexicon():
    stored = Lexicon({"GIF": "gif", "SQL": "sequel"})
    job = Lexicon({"GIF": "jif"}).over(stored)
    assert job.say("GIF SQL") == "jif sequel"
    assert not Lexicon({}).over(None)


@pytest.mark.parametrize(
    ("word", "respelling", "problem"),
    [
        ("two words", "x", "one word per entry"),
        ("", "x", "1 to 64 characters"),
        ("x" * 65, "y", "1 to 64 characters"),
        ("[pause", "x", "no '[' or ']'"),
        ("...", "x", "needs a letter or digit"),
        ("GIF", "", "1 to 128 characters"),
        ("GIF", "j" * 129, "1 to 128 characters"),
        ("GIF", "[jif]", "may not hold"),
        ("GIF", "ji\nf", "may not hold"),
        ("GIF", "123", "needs letters"),
    ],
)
def test_bad_entries_are_named(word, respelling, problem):
    message = entry_problem(word, respelling)
    assert message is not None and problem in message
    assert message.startswith("entry ")


def test_entry_count_limit():
    assert lexicon_problem({f"w{i}": "x" for i in range(MAX_ENTRIES)}) is None
    assert "over the limit" in lexicon_problem({f"w{i}": "x" for i in range(MAX_ENTRIES + 1)})


def test_typed_words_map_over_their_whole_respelling():
    """'GIF' said as 'jif', 'Okonkwo' as three tokens: each typed word owns every token of its respelling."""
    lexicon = Lexicon({"Okonkwo": "oh konk woh", "GIF": "jif"})
    typed = "Chief Okonkwo sent 3 GIFs and a GIF."
    spoken = normalize_english(lexicon.say(typed))
    assert spoken == "Chief oh konk woh sent three GIFs and a jif."
    mapping = spoken_token_map(typed.split(), spoken.split(), lexicon.say)
    spoken_tokens = spoken.split()
    said = {token: [spoken_tokens[i] for i in indices] for token, indices in zip(typed.split(), mapping, strict=True)}
    assert said["Okonkwo"] == ["oh", "konk", "woh"]
    assert said["GIF."] == ["jif."]
    assert said["3"] == ["three"]
