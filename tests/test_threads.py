"""hrl_sarp.threads: one intra-op thread and subnormals flushed inside the block, both restored after it."""

from __future__ import annotations

import torch

from hrl_sarp.threads import single_thread

SUBNORMAL = 1e-40  # below float32's smallest normal (1.18e-38)


def _survives() -> bool:
    """Does a float32 subnormal survive arithmetic right now?"""
    return bool((torch.tensor([SUBNORMAL], dtype=torch.float32) * 1.0).item() != 0.0)


def test_flush_and_one_thread_inside_restored_after():
    threads = torch.get_num_threads()
    assert _survives()
    with single_thread():
        assert torch.get_num_threads() == 1 and not _survives()
        with single_thread():
            assert not _survives()
        assert not _survives()  # an inner block's exit leaves the outer one flushing
    assert _survives() and torch.get_num_threads() == threads
