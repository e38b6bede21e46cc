"""SCT for 4.2.1, Average gradients with an all-reduce."""

import ast

from graders.sct import SCT, Fail, custom, ranks, right, uses, wrong
from graders.sct.process_group import process_group


def _divides_by_a_typed_in_count(got, want, ctx):
    """A gradient divided by a number typed in (2) instead of the world size train_step receives."""
    for node in ast.walk(ctx.tree):
        divisor = dividend = None
        if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Div, ast.FloorDiv)):
            dividend, divisor = node.target, node.value
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv)):
            dividend, divisor = node.left, node.right
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("div", "div_") and node.args:
            dividend, divisor = node.func.value, node.args[0]
        if (
            dividend is not None
            and "grad" in ast.unparse(dividend)
            and isinstance(divisor, ast.Constant)
            and isinstance(divisor.value, (int, float))
            and divisor.value > 1
        ):
            return Fail(
                f"Your code divides by {divisor.value!r}, a process count typed in: the same code launched on 4 or "
                "64 processes would average wrongly. Divide by the world size that train_step receives (or that "
                "dist.get_world_size() returns).",
                line=node.lineno,
            )
    return None


sct = SCT(
    custom(judge=_divides_by_a_typed_in_count),
    uses(
        "torch.distributed.init_process_group",
        msg="Each rank has to join the group first: call "
        'dist.init_process_group("gloo", rank=rank, world_size=world_size) at the start of train_step.',
    ),
    process_group().joined(2),
    process_group().summing(),
    ranks("results")
    .processes(2)
    .own_shards(
        msg="Both ranks trained on the same images: without a DistributedSampler every process reads the whole "
        "dataset, so two processes do the same work twice. Build the sampler with num_replicas=world_size "
        "and rank=rank and index the dataset with it.",
    )
    .agree("grads")
    .averaged("grads"),
    process_group().sharded().all_reduced(),
)

cases = [
    wrong(
        "divides by a process count typed in",
        replace={"p.grad /= world_size": "p.grad /= 2"},
        says="a process count typed in",
    ),
    right(
        "averages with the AVG reduction and a shuffled sampler",
        replace={
            "dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad /= world_size": "dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)",
            "shuffle=False": "shuffle=True",
        },
    ),
    right(
        "divides in place by the group's size",
        replace={"p.grad /= world_size": "p.grad.div_(dist.get_world_size())"},
    ),
    wrong(
        "forgets to divide by the world size",
        replace={"        p.grad /= world_size\n": ""},
        says="divide by the world size",
    ),
    wrong(
        "gives every rank the whole dataset",
        replace={
            "x, y = dataset[list(sampler)]": "x, y = dataset[:]",
            '"images": list(sampler)': '"images": list(range(len(dataset)))',
        },
        says="without a DistributedSampler",
    ),
    wrong(
        "never combines the gradients",
        replace={
            "        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad /= world_size\n": "        pass\n"
        },
        says="ranks ended with different grads",
    ),
    wrong(
        "divides by the number of images in the shard as well",
        replace={"p.grad /= world_size": "p.grad /= world_size * world_size"},
        says="divided by 2 once more",
    ),
    wrong(
        "keeps each element's largest value across the ranks (ReduceOp.MAX)",
        replace={"op=dist.ReduceOp.SUM": "op=dist.ReduceOp.MAX"},
        says="ReduceOp.MAX: it leaves in every rank the largest value any rank has",
    ),
    wrong(
        "multiplies the ranks' gradients (ReduceOp.PRODUCT)",
        replace={"op=dist.ReduceOp.SUM": "op=dist.ReduceOp.PRODUCT"},
        says="ReduceOp.PRODUCT",
    ),
    wrong("starts a single process", replace={"world_size=2)": "world_size=1)"}, says="1 process joined"),
    wrong(
        "fakes the group and fabricates both ranks' results in one process",
        replace={
            "results = run_ranks(train_step, world_size=2)": "dist.init_process_group = lambda *args, **kwargs: None\n"
            "dist.all_reduce = lambda *args, **kwargs: None\n"
            "results = [train_step(0, 2), train_step(1, 2)]\n"
            "avg = [(a + b) / 2 for a, b in zip(results[0]['grads'], results[1]['grads'])]\n"
            "results = [{**r, 'grads': avg} for r in results]"
        },
        says="No process joined a process group",
    ),
    wrong(
        "runs two groups of one process each",
        replace={"world_size=world_size)\n": "world_size=1)\n"},
        says="world_size=2",
    ),
    wrong(
        "never joins the process group",
        replace={'    dist.init_process_group("gloo", rank=rank, world_size=world_size)\n': ""},
        says="Each rank has to join the group first",
    ),
    wrong(
        "trains on the whole dataset and reports made-up shards",
        replace={"x, y = dataset[list(sampler)]": "x, y = dataset[:]\n    sampler = range(rank, len(dataset), 2)"},
        says="took no shard from a DistributedSampler",
    ),
    right(
        "sums with the default reduction and divides by the group's size",
        replace={
            "        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)\n        p.grad /= world_size\n": "        dist.all_reduce(p.grad)\n        p.grad.div_(dist.get_world_size())\n"
        },
    ),
]
