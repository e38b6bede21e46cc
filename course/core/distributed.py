"""Two-process training on one machine, for the lessons on distributed training.

``run_ranks`` starts one process per rank, as ``torchrun`` or a SLURM job would on a
cluster, and returns what each rank's function returned. It forks (the function may be
defined in a notebook, which ``spawn`` cannot pickle), gives the ranks a rendezvous
address, and never leaves a process behind: when a rank fails, when the time is up or
when the learner interrupts, every rank still running is killed and reaped, and a failure
names the rank and its error.

``RankRecorder`` is a mixin for a ``LightningModule``: each process writes down which
images it trained on and its final weights (``ranks/rank-<r>.pt``), so a learner and the
checker can see what data parallelism did.
"""

from __future__ import annotations

import functools
import os
import pickle
import socket
import time
import traceback
from multiprocessing import connection, get_context

RECORD_DIR = "ranks"


class RankFailed(RuntimeError):
    """A rank raised, died or ran out of time; the message says which and why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, for the ranks' rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_group_of(world_size: int, init):
    """``init_process_group`` for a rank of ``run_ranks``: a group of another size than the
    processes started fails at once with the reason, where gloo would fail with "rank < size"
    or, now and then, leave a rank waiting for peers that never come."""

    @functools.wraps(init)
    def init_process_group(*args, **kwargs):
        given = kwargs.get("world_size", -1)
        if given not in (-1, world_size):
            raise ValueError(
                f"init_process_group(world_size={given}), but run_ranks started {world_size} processes: "
                f"every process joins the one group of world_size={world_size}"
            )
        return init(*args, **kwargs)

    return init_process_group


def _rank_main(fn, rank: int, world_size: int, args: tuple, conn) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # two ranks on two cores: one thread each keeps them steady
    if dist.is_available():
        dist.init_process_group = _one_group_of(world_size, dist.init_process_group)
    try:
        result = fn(rank, world_size, *args)
        reply = ("ok", result)
    except BaseException as err:  # reported to the parent, which names the rank
        frames = traceback.extract_tb(err.__traceback__)
        # the line in the learner's own code (a notebook cell, "<your code>"), not in a library
        line = next(
            (
                f.lineno
                for f in reversed(frames)
                if f.filename != __file__ and "site-packages" not in f.filename and "/lib/python" not in f.filename
            ),
            None,
        )
        reply = ("error", f"{type(err).__name__}: {err}", line)
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    try:
        conn.send_bytes(pickle.dumps(reply))
    except Exception as err:  # a result that cannot be pickled
        conn.send_bytes(pickle.dumps(("error", f"its result could not be sent back: {err}", None)))
    conn.close()


def run_ranks(fn, world_size: int = 2, *args, timeout_s: float = 60.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes; return the
    results in rank order. Each process sees ``MASTER_ADDR``/``MASTER_PORT``, so
    ``torch.distributed.init_process_group("gloo", rank=rank, world_size=world_size)``
    joins the group."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(free_port())
    ctx = get_context("fork")
    procs, pipes = [], []
    try:
        for rank in range(world_size):
            receiver, sender = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_rank_main, args=(fn, rank, world_size, args, sender), name=f"rank-{rank}")
            p.start()
            sender.close()
            procs.append(p)
            pipes.append(receiver)
        return _collect(procs, pipes, time.monotonic() + timeout_s)
    finally:
        for p in procs:  # whatever happened (an error, the time limit, Ctrl+C): no rank survives
            if p.is_alive():
                p.kill()
            p.join(5)
        for r in pipes:
            r.close()


_PEER_LOST = ("Connection reset", "Connection closed", "Broken pipe", "peer", "Timed out waiting")


def _collect(procs, pipes, deadline: float) -> list:
    results: dict[int, object] = {}
    errors: dict[int, tuple] = {}
    waiting = {pipes[r]: r for r in range(len(procs))}
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            if errors:
                break
            ranks = ", ".join(str(r) for r in sorted(waiting.values()))
            raise RankFailed(
                f"rank {ranks} did not finish in time; were all ranks in the same group "
                "(init_process_group with the same world_size), and did each call every collective?"
            )
        for conn in connection.wait(list(waiting), timeout=min(left, 0.5)):
            rank = waiting.pop(conn)
            try:
                reply = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                procs[rank].join(1)
                reply = ("error", f"the process died without a result (exit code {procs[rank].exitcode})", None)
            if reply[0] == "error":
                errors[rank] = reply
                # when one rank fails, the others soon lose their connection to it: give them a
                # moment to report, so the message can name the rank that failed first
                deadline = min(deadline, time.monotonic() + 2.0)
            else:
                results[rank] = reply[1]
    if errors:
        first = next((r for r in sorted(errors) if not any(p in errors[r][1] for p in _PEER_LOST)), min(errors))
        where = f" on line {errors[first][2]}" if errors[first][2] else ""
        others = sorted(set(errors) - {first})
        then = f" (then rank {', '.join(map(str, others))} lost its connection to it)" if others else ""
        raise RankFailed(f"rank {first} failed{where}: {errors[first][1]}{then}")
    return [results[r] for r in range(len(procs))]


def fingerprint(images):
    """One number per image (the sum of its pixels), to tell which images a rank saw."""
    return images.flatten(1).double().sum(1).round(decimals=3).tolist()


class RankRecorder:
    """Mixin for a LightningModule: each process records the images it trained on and its
    final weights. (What a run computed in, its batches and optimizer steps, the grader
    observes itself, for every run.)"""

    def on_train_start(self):
        self._seen = []

    def on_train_batch_start(self, batch, batch_idx):
        self._seen += fingerprint(batch[0])

    def on_train_end(self):
        import torch

        os.makedirs(RECORD_DIR, exist_ok=True)
        record = {
            "rank": self.global_rank,
            "world_size": self.trainer.world_size,
            "images": self._seen,
            "pid": os.getpid(),
            "state_dict": {k: v.detach().float().cpu().clone() for k, v in self.state_dict().items()},
        }
        torch.save(record, os.path.join(RECORD_DIR, f"rank-{self.global_rank}.pt"))
