"""Voice-tagged text: which texts are dialogue, and how they split into turns."""

from __future__ import annotations

from f5worker.media.dialogue import DialogueSegment, is_dialogue, parse_tagged_text


def test_a_text_is_dialogue_only_when_it_starts_with_a_tag():
    assert is_dialogue("[narrator] It was late.")
    assert is_dialogue("  [ guest ]Was it?")
    assert not is_dialogue("He paused [briefly] and went on.")
    assert not is_dialogue("[not a tag] hello")  # spaces inside: not a voice name
    assert not is_dialogue("")
    assert not is_dialogue(None)


def test_turns_in_order_with_whitespace_collapsed_and_empty_turns_dropped():
    text = "[narrator] It was late.\n\n[guest]   Was it?  [narrator][guest] Yes.   [narrator]"
    assert parse_tagged_text(text) == [
        DialogueSegment("narrator", "It was late."),
        DialogueSegment("guest", "Was it?"),
        DialogueSegment("guest", "Yes."),
    ]
