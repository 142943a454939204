"""WebSocket close codes the runtime uses, named with their numbers (RFC 6455 section 7.4)."""

from typing import Final

WS_1000_NORMAL_CLOSURE: Final = 1000
WS_1001_GOING_AWAY: Final = 1001
WS_1003_UNSUPPORTED_DATA: Final = 1003
WS_1008_POLICY_VIOLATION: Final = 1008
WS_1009_MESSAGE_TOO_BIG: Final = 1009
WS_1011_INTERNAL_ERROR: Final = 1011
WS_1013_TRY_AGAIN_LATER: Final = 1013
