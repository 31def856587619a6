"""Wire models of sync protocol v1, shared by the laptop client and the central service.

One pydantic model per message; nothing else defines what crosses the wire."""

from fieldkit.protocol.messages import *  # noqa: F403
from fieldkit.protocol.messages import __all__  # noqa: F401
