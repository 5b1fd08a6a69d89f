"""``saline``: the operator CLI. Talks to the master over its local control socket.

``main`` is the click group (``main.py``); each verb group has its own module here.
New verbs go in a new module that registers on ``main`` and is imported at the end of
``main.py`` (or, if it imports heavy code, in ``_MainGroup.lazy``).
"""

from .main import main

__all__ = ["main"]
