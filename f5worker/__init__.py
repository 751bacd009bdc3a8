"""F5-TTS voice-cloning worker for RunPod serverless, with word-level subtitle timings.

Data flow: request (``dispatch``) -> validation (``schemas``) -> endpoint (``endpoints``)
-> engines (``engines``) -> media (``media``) -> storage (``storage``).
"""

__version__ = "0.1.0"
