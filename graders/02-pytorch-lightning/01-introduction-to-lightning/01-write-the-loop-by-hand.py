"""SCT for 2.1.1, Write the training loop by hand."""

import ast

import torch

from graders.sct import SCT, Fail, correct, custom, optimizer_steps, right, uses, wrong


def _model_state(run):
    model = run.ns.get("model")
    if not isinstance(model, torch.nn.Module):
        return None
    return {
        "training": model.training,
        "weights": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "has_grad": any(p.grad is not None and bool(p.grad.abs().sum()) for p in model.parameters()),
    }


def _training_mode(got, want, ctx):
    if got is None:
        return "`model` is no longer an nn.Module: keep training the TinyNet the exercise gives you."
    if not got["training"]:
        return (
            "`model` is still in evaluation mode, so dropout is switched off while it trains. Call "
            "model.train() before the loop: evaluation mode is for measuring, not for learning."
        )
    return None


def _zero_grad_in_loop(got, want, ctx):
    for loop in (n for n in ast.walk(ctx.tree) if isinstance(n, ast.For)):
        if any(isinstance(c, ast.Call) and getattr(c.func, "attr", None) == "zero_grad" for c in ast.walk(loop)):
            return None
    return (
        "optimizer.zero_grad() must run for every batch, inside the loop: PyTorch adds each new gradient "
        "to the one already stored, so one call before the loop is not enough."
    )


def _step_after_backward(got, want, ctx):
    """Within the loop, optimizer.step() must come after loss.backward()."""
    for loop in (n for n in ast.walk(ctx.tree) if isinstance(n, ast.For)):
        calls = {
            c.func.attr: c.lineno
            for c in ast.walk(loop)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in ("backward", "step")
        }
        if "backward" in calls and "step" in calls and calls["step"] < calls["backward"]:
            return Fail(
                "optimizer.step() runs before loss.backward(), so each step uses the gradients of the "
                "batch before (and the first has none). Call backward first, then step.",
                line=calls["step"],
            )
    return None


def _same_weights(got, want, ctx):
    for name, value in want["weights"].items():
        if not torch.allclose(got["weights"][name], value, atol=1e-5):
            if not got["has_grad"]:
                return (
                    "The weights differ from one epoch of SGD, and no gradient is left after the loop: "
                    "zero_grad runs between backward and step, so step sees no gradients. Clear the "
                    "gradients at the start of each batch, before the forward pass."
                )
            return (
                f"After one epoch, `model`'s weights ({name}) differ from the expected ones. Each batch "
                "should run zero_grad, the forward pass and the loss, backward, then step, in that order."
            )
    return None


sct = SCT(
    custom(probe=_model_state, judge=_training_mode),
    uses(
        ".zero_grad",
        msg="Your loop never clears the gradients. PyTorch adds each backward pass to the "
        "gradients already stored, so without optimizer.zero_grad() every step uses the "
        "sum of all earlier batches' gradients.",
    ),
    custom(judge=_zero_grad_in_loop),
    uses(
        ".backward",
        msg="Call loss.backward() before optimizer.step(): without it there are no gradients "
        "and the step changes nothing.",
    ),
    custom(judge=_step_after_backward),
    # The weights after one epoch are what counts; when they are wrong, what the optimizer
    # really did (how many steps, which optimizer and lr) is named first.
    correct(custom(probe=_model_state, judge=_same_weights), diagnose=[optimizer_steps()]),
)

_FORWARD = "    optimizer.zero_grad()\n    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n"

cases = [
    wrong("forgets zero_grad", replace={"    optimizer.zero_grad()\n": ""}, says="gradients already stored"),
    wrong(
        "leaves the model in evaluation mode",
        replace={"model.train()": "model.eval()"},
        says="still in evaluation mode",
    ),
    wrong("never switches the mode", replace={"model.train()\n": ""}, says="still in evaluation mode"),
    wrong(
        "clears the gradients once, before the loop",
        replace={"model.train()\n": "model.train()\noptimizer.zero_grad()\n", "    optimizer.zero_grad()\n": ""},
        says="inside the loop",
    ),
    wrong(
        "clears the gradients between backward and step",
        replace={_FORWARD: "    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n    optimizer.zero_grad()\n"},
        says="between backward and step",
    ),
    wrong("forgets backward", replace={"    loss.backward()\n": ""}, says="Call loss.backward()"),
    wrong(
        "steps before backward",
        replace={"    loss.backward()\n    optimizer.step()": "    optimizer.step()\n    loss.backward()"},
        says="Call backward first, then step",
    ),
    wrong(
        "trains on the first batch only",
        replace={"for x, y in train_loader:": "for x, y in [next(iter(train_loader))]:"},
        says="took 1 optimizer step",
    ),
    wrong(
        "trains for two epochs",
        replace={"for x, y in train_loader:": "for x, y in list(train_loader) * 2:"},
        says="took 8 optimizer steps",
    ),
    wrong(
        "makes a new optimizer with another learning rate",
        replace={"model.train()\n": "model.train()\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"},
        says="SGD(lr=0.05)",
    ),
    wrong(
        "computes the loss under no_grad",
        replace={
            "    loss = F.cross_entropy(model(x), y)\n": "    with torch.no_grad():\n        loss = F.cross_entropy(model(x), y)\n"
        },
        says="does not track gradients",
    ),
    right("clears the gradients through the model", replace={"optimizer.zero_grad()": "model.zero_grad()"}),
    right(
        "unpacks the batch inside the loop and counts it",
        replace={"for x, y in train_loader:": "for i, batch in enumerate(train_loader):\n    x, y = batch"},
    ),
    right(
        "keeps zeroed gradients instead of None",
        replace={"optimizer.zero_grad()": "optimizer.zero_grad(set_to_none=False)"},
    ),
]
