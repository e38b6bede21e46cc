"""SCT for 4.3.2, Accumulate gradients."""

import ast
import re

from graders.sct import SCT, SOLUTION, custom, right, trainer, training_record, wrong


def _printed_steps(run):
    steps = getattr(run.ns.get("trainer"), "global_step", None)
    return {
        "steps": steps if isinstance(steps, int) else None,
        "numbers": [int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", run.stdout)],
    }


def _printed_steps_right(got, want, ctx):
    reads = any(isinstance(node, ast.Attribute) and node.attr == "global_step" for node in ast.walk(ctx.tree))
    if not reads:
        return (
            "Print the number of optimizer steps as the Trainer counts them, trainer.global_step: a number "
            "worked out by hand or typed in is right only while nothing else about the run changes."
        )
    if got["steps"] is not None and got["steps"] not in got["numbers"]:
        return (
            f"Your output does not show the {got['steps']} optimizer steps the run took: print "
            "trainer.global_step, the Trainer's count of optimizer steps (the epoch counter and the batch "
            "count are other numbers)."
        )
    return None


def _accumulate_for_other_batches(run):
    """The code up to the Trainer run again with a small_loader of batches of 16: a count
    computed from the loader follows it (8), one typed in stays 4."""
    import contextlib
    import io

    from torch.utils.data import DataLoader

    from graders.sct.api import LEARNER_FILE

    tree = ast.parse(run.code)
    head = []
    for node in tree.body:
        if "Trainer" in ast.unparse(node) or ".fit(" in ast.unparse(node):
            break
        head.append(node)
    loader = run.ns.get("small_loader")
    if not head or loader is None:
        return None
    ns = {**run.ns, "small_loader": DataLoader(loader.dataset, batch_size=16)}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(ast.Module(body=head, type_ignores=[]), LEARNER_FILE, "exec"), ns)  # noqa: S102
    except Exception:
        return None
    value = ns.get("accumulate")
    return value if isinstance(value, int) else None


def _computed_from_the_loader(got, want, ctx):
    if got is not None and want is not None and got != want:
        return (
            f"`accumulate` does not follow the loader: with batches of 16 in small_loader, your code still gives "
            f"{got}, not {want}. Compute it from target_batch and the batch size the loader keeps, so that it stays "
            "right when the batch that fits in memory changes."
        )
    return None


sct = SCT(
    training_record()
    .batches(
        msg=(
            "Keep the batches of 32: the point of accumulating is that only 32 images fit in memory at once, so the "
            "loader stays small_loader and the Trainer adds up its batches ({got})."
        )
    )
    .optimizer_steps(),
    trainer("trainer")
    .settings(
        accumulate_grad_batches=SOLUTION,
        msg=(
            "accumulate_grad_batches counts batches, not images: 128 images are 128 // 32 = 4 batches of "
            "small_loader ({got})."
        ),
    )
    .fitted(),
    custom(probe=_printed_steps, judge=_printed_steps_right),
    custom(probe=_accumulate_for_other_batches, judge=_computed_from_the_loader),
)

cases = [
    wrong(
        "does not accumulate",
        replace={"accumulate_grad_batches=accumulate": "accumulate_grad_batches=1"},
        says="one step per batch",
    ),
    wrong(
        "counts images instead of batches",
        replace={"accumulate_grad_batches=accumulate": "accumulate_grad_batches=target_batch"},
        says="counts batches, not images",
    ),
    wrong(
        "loads batches of 128 instead",
        replace={
            "trainer.fit(model, small_loader)": "trainer.fit(model, torch.utils.data.DataLoader(small_loader.dataset, batch_size=target_batch))"
        },
        says="Keep the batches of 32",
    ),
    wrong(
        "prints the epoch instead of the steps",
        replace={"trainer.global_step": "trainer.current_epoch"},
        says="as the Trainer counts them, trainer.global_step",
    ),
    wrong(
        "prints a step count it worked out by hand",
        replace={"print(trainer.global_step,": "print(512 // 128,"},
        says="Print the number of optimizer steps as the Trainer counts them",
    ),
    right(
        "prints the step count inside a sentence",
        replace={
            'print(trainer.global_step, "optimizer steps")': 'print(f"{trainer.global_step} optimizer steps for {len(small_loader)} batches of 32")'
        },
    ),
    wrong(
        "types in the number of batches",
        replace={"accumulate = target_batch // small_loader.batch_size": "accumulate = 4"},
        says="does not follow the loader",
    ),
    wrong(
        "types in the loader's batch size",
        replace={"accumulate = target_batch // small_loader.batch_size": "accumulate = target_batch // 32"},
        says="does not follow the loader",
    ),
    right(
        "reads the batch size into a variable of its own first",
        replace={
            "accumulate = target_batch // small_loader.batch_size": "fits = small_loader.batch_size\naccumulate = int(target_batch / fits)"
        },
    ),
]
