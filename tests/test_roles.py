"""Each real engine class offers what its role in ``engines/roles.py`` promises (the Protocols are
never checked at run time, so a renamed method would otherwise surface only in a job)."""

import inspect

import pytest
from typing_extensions import get_protocol_members

from f5worker.engines import roles
from f5worker.engines.f5 import F5Engine
from f5worker.engines.google_speech import GoogleSpeechEngine
from f5worker.engines.whisper import WhisperEngine
from f5worker.timing.aligner import ForcedAligner


@pytest.mark.parametrize(
    ("engine", "role"),
    [
        (F5Engine, roles.Synthesiser),
        (WhisperEngine, roles.TextAligningRecogniser),
        (GoogleSpeechEngine, roles.Recogniser),
        (ForcedAligner, roles.KnownTextAligner),
    ],
)
def test_each_engine_class_offers_its_role(engine, role):
    source = inspect.getsource(engine)
    missing = [
        name
        for name in sorted(get_protocol_members(role))
        if not hasattr(engine, name) and f"self.{name} =" not in source  # methods, class or instance attributes
    ]
    assert missing == [], f"{engine.__name__} lacks {missing} of {role.__name__}"
    for name in get_protocol_members(role):
        promised = getattr(role, name, None)
        if callable(promised) and callable(getattr(engine, name, None)):
            wanted = [p for p in inspect.signature(promised).parameters.values() if p.kind is p.KEYWORD_ONLY]
            given = inspect.signature(getattr(engine, name)).parameters
            assert all(p.name in given or any(g.kind is g.VAR_KEYWORD for g in given.values()) for p in wanted), name
