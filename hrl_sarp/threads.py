"""How torch computes for the small networks of this project (GNN, Phase 1/2, RL policies).

One intra-op thread: torch reductions then run in a fixed order, so the same seed gives the same numbers, and for
networks this small one thread is as fast as several. Subnormal floats flushed to zero: late in training Adam's
moment estimates and some weights decay into the subnormal range, where every multiply takes the CPU's slow path
(Phase 2's epochs slowed from about 1 s to 4-5 s); at that scale (below 1e-38) flushing them changes no metric.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

# torch seeds one process-global generator: two seeded fits in one process at once (a thread-pool fan-out) would
# draw from each other's stream, so they take turns on this lock. Separate processes (Dask workers) still run in
# parallel. A lock is process-wide by nature; it holds no data.
TORCH_RNG_LOCK = threading.Lock()
# Nesting depth of single_thread() per thread (the CPU's flush-to-zero flag is per thread): only the outermost
# block switches flushing off again.
_DEPTH = threading.local()


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)`` and subnormals flushed to zero; afterwards the previous
    thread count comes back and flushing is off again (torch's default; torch offers no way to read the setting)."""
    import torch  # here, not at module level: importing this module must stay cheap for the CLI

    before = torch.get_num_threads()
    depth = getattr(_DEPTH, "value", 0)
    _DEPTH.value = depth + 1
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        _DEPTH.value = depth
        if depth == 0:
            torch.set_flush_denormal(False)
        torch.set_num_threads(before)
