"""Captions from timed words: one grouping shared by every timing file format.

`options.py` (what a request may ask, the limits in ms), `linebreak.py` (lines inside one caption),
`group.py` (sanitising, which words share a caption, display times), `render.py` (SRT, WebVTT, ASS,
CSV, JSON); `greedy.py` is the word-by-word grouping the chosen one replaced, kept as its reference.
Import from the module you need; this file imports nothing, so naming the options does not load
the renderers.
"""
