"""How many processes train, on what, and how the global batch is shared among them.

Lightning's own engine runs them: with ``--devices N`` (and ``--num-nodes M``) and the
``ddp`` strategy, ``course train`` started by hand launches the other processes of its
node itself (the same command with ``LOCAL_RANK`` set), and under ``torchrun`` or SLURM's
``srun`` it joins the processes those launchers started (Lightning reads their
environment variables). Every process runs this same command; only rank 0 prints and
writes files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    accelerator: str  # Lightning's name: "cpu", "gpu", "mps"
    devices: int  # processes per node (one per device)
    num_nodes: int
    strategy: str  # "auto" for one process, else "ddp" unless asked for
    batch_size: int  # the global batch: images per optimizer step, all processes together

    @property
    def world(self) -> int:
        return self.devices * self.num_nodes

    @property
    def per_process_batch(self) -> int:
        return self.batch_size // self.world

    def describe(self, lr: float) -> str:
        """The line ``course train`` prints at the start."""
        if self.world == 1:
            return f"1 process on {self.accelerator}; batch {self.batch_size}, peak learning rate {lr}"
        backend = {"cpu": "gloo", "gpu": "NCCL"}.get(self.accelerator, "the default backend")
        return (
            f"{self.world} processes ({self.num_nodes} node(s) x {self.devices} {self.accelerator} device(s), "
            f"strategy {self.strategy}, {backend}); global batch {self.batch_size} = {self.world} x "
            f"{self.per_process_batch} images per process; peak learning rate {lr}, as for one process: "
            f"the processes' gradients are averaged, so each step is the one-process step on the same "
            f"{self.batch_size} images (BatchNorm statistics are per process, over {self.per_process_batch})"
        )

    def as_dict(self) -> dict:
        return {
            "world_size": self.world,
            "devices": self.devices,
            "num_nodes": self.num_nodes,
            "strategy": self.strategy,
            "accelerator": self.accelerator,
            "per_process_batch": self.per_process_batch,
        }


def plan(args) -> Plan:
    """The Plan for the command's arguments; SystemExit with a message for impossible ones."""
    accelerator = args.accelerator
    if accelerator == "auto":
        from course.core.device import get_device

        accelerator = {"cuda": "gpu"}.get(get_device().type, get_device().type)
    if args.devices < 1 or args.num_nodes < 1:
        raise SystemExit("course train: --devices and --num-nodes count processes: 1 or more")
    world = args.devices * args.num_nodes
    strategy = args.strategy or ("ddp" if world > 1 else "auto")
    if strategy == "fsdp" and accelerator != "gpu":
        raise SystemExit(
            "course train: --strategy fsdp needs GPUs (Lightning runs FSDP on CUDA only); "
            "on the CPU, --strategy ddp (the default) trains on several processes"
        )
    if args.batch_size % world:
        raise SystemExit(
            f"course train: the global batch {args.batch_size} does not split evenly over {world} "
            f"processes; choose a --batch-size that is a multiple of {world}"
        )
    return Plan(accelerator, args.devices, args.num_nodes, strategy, args.batch_size)


def threads_per_process(plan: Plan) -> int:
    """On the CPU, the cores are shared out among the node's processes."""
    import os

    return max(1, (os.cpu_count() or 1) // plan.devices)
