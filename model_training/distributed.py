"""Training under torchrun: joining and leaving the process group, and the few collectives that keep ranks in
step. Every rank must make the same collective calls in the same order, or the ones that did wait forever
(or fail with "Connection closed by peer" once the others exit); so anything only rank 0 does (sample sheets,
writing checkpoints) uses unwrapped modules, and decisions that could differ between ranks (stop, save) are
agreed on before anyone acts on them."""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist


LEAVE_TIMEOUT_S = 60  # how long a finished rank waits for the others before it leaves anyway


def world() -> tuple[int, int, int]:
    """(rank, world size, ranks on this node), as torchrun sets them; (0, 1, 1) for a plain process."""
    return (int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
            int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def join(backend: str) -> None:
    """Join torchrun's process group (once: tests and scripts may train several runs in one process)."""
    if not dist.is_initialized():
        dist.init_process_group(backend)


def leave(together: bool = False) -> None:
    """Leave the process group. `together` (every rank is finishing normally): first wait for the others, so
    that no rank tears its connections down while another still uses them (gloo then aborts that process
    with "terminate called without an active exception"). A rank that never arrives is not waited for long."""
    if not dist.is_initialized():
        return
    if together and dist.get_world_size() > 1:
        try:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=timedelta(seconds=LEAVE_TIMEOUT_S))
            else:
                dist.barrier()
        except RuntimeError:
            pass  # a rank is gone: there is nothing left to wait for
    dist.destroy_process_group()


def unwrap(module):
    """The module inside DistributedDataParallel. Its forward broadcasts buffers to every rank, a collective,
    so work done on rank 0 alone must call the module itself."""
    return module.module if isinstance(module, torch.nn.parallel.DistributedDataParallel) else module


def any_rank(flags: list[bool]) -> list[bool]:
    """Each flag true on every rank when it is true on any rank (a no-op without a process group)."""
    if not dist.is_initialized():
        return flags
    votes = torch.tensor([float(f) for f in flags])
    dist.all_reduce(votes, op=dist.ReduceOp.MAX)
    return [bool(v) for v in votes]


def gather_to_main(value: object) -> list[object] | None:
    """Every rank's value, in rank order, on rank 0; None on the others."""
    if not dist.is_initialized():
        return [value]
    values = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(value, values, dst=0)
    return values


def is_peer_failure(error: BaseException) -> bool:
    """A collective failed: another rank crashed or was killed (its sockets closed) while this one waited.
    NCCL raises DistError; gloo a plain RuntimeError that names its transport."""
    return isinstance(error, dist.DistError) or (isinstance(error, RuntimeError) and "gloo" in str(error))
