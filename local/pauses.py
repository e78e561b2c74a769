"""Garbage-collection pauses that do not grow with the data (both local-run processes use this).

A full collection walks every object of the process. The moto process holds the whole stack's
data and the API process the SAM CLI, Flask and the SDKs, so full collections took hundreds of
milliseconds, growing with the data, and every request in flight waited for them. What survived
a full collection is long-lived (loaded code, stored items), so it is frozen: out of the
collector's sight, still freed by reference counting when dropped, and the next full collection
walks only what came after it.
"""

from __future__ import annotations

import gc


def keep_full_collections_short() -> None:
    """Freeze what exists now, and again after every full collection."""

    def after(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    if after not in gc.callbacks:
        gc.callbacks.append(after)
    gc.collect()
    gc.freeze()
