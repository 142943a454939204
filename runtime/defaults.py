"""Consumer defaults that the spec language shows its users too.

This module imports nothing, so ``chgen.spec`` can read them without loading the runtime.
"""

from typing import Final

# How many handlers of one socket may run at once when ``strict_ordering`` is off.
MAX_CONCURRENCY: Final = 16
