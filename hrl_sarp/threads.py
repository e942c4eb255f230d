"""One torch intra-op thread for the small networks of this project (GNN, Phase 1/2, RL policies).

With one thread torch reductions run in a fixed order, so the same seed gives the same numbers, and for networks
this small one thread is as fast as several.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

# torch seeds one process-global generator: two seeded fits in one process at once (a thread-pool fan-out) would
# draw from each other's stream, so they take turns on this lock. Separate processes (Dask workers) still run in
# parallel. A lock is process-wide by nature; it holds no data.
TORCH_RNG_LOCK = threading.Lock()


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``, restoring the previous thread count afterwards."""
    import torch  # here, not at module level: importing this module must stay cheap for the CLI

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
