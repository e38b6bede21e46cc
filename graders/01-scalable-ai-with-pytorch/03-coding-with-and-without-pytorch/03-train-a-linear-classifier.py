"""SCT for 1.3.3, the chapter 1 capstone: a linear classifier, from loops to autograd.

Iterative: each step runs on its own after the exercise's pre-exercise code."""
import ast

import torch

from graders.sct import SCT, Fail, custom, right, variable, wrong

_TOL = {"rtol": 1e-4, "atol": 1e-4}


def _tensor(name):
    def probe(run):
        value = run.ns.get(name)
        return value.detach() if isinstance(value, torch.Tensor) else None
    return probe


# ----------------------------------------------------------------------------- step 1


def _scores_without_loops(got, want, ctx):
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "scores" for t in node.targets):
            if any(isinstance(n, (ast.ListComp, ast.GeneratorExp)) for n in ast.walk(node.value)):
                return Fail("This line scores the images one at a time again. A single matrix product, "
                            "features @ W + b, scores every row of features at once: that is what scales to "
                            "large batches and to GPUs.", line=node.lineno)
    return None


def _judge_scores(got, want, ctx):
    if got is None:
        return "`scores` should be a tensor: features @ W + b."
    if tuple(got.shape) != (64, 10):
        return (f"`scores` has shape {tuple(got.shape)}, but it should have one row of 10 class scores per "
                "image, (64, 10): multiply all of features, (64, 3072), by W, (3072, 10).")
    if not torch.allclose(got, want, **_TOL):
        return ("`scores` has the right shape but the wrong values: it should be features @ W + b, the same as "
                "the loop's rows, with the bias b broadcast over every row.")
    return None


def _judge_pred(got, want, ctx):
    if got is None:
        return "`pred` should be a tensor: scores.argmax(dim=1)."
    if tuple(got.shape) == (10,):
        return ("`pred` has one entry per class: argmax(dim=0) looks down each column and finds the best image "
                "for each class. Use dim=1 to find the best class for each image.")
    if tuple(got.shape) != tuple(want.shape) or not torch.equal(got, want):
        return "`pred` should hold the position of the highest score in each row: scores.argmax(dim=1)."
    return None


step1 = SCT(
    custom(judge=_scores_without_loops),
    custom(probe=_tensor("scores"), judge=_judge_scores),
    custom(probe=_tensor("pred"), judge=_judge_pred),
)

# ----------------------------------------------------------------------------- step 2


def _judge_grad(got, want, ctx):
    if got is None:
        return ("`grad` is None: W.grad is only filled in when W tracks gradients and loss.backward() has run. "
                "Call loss.backward() before reading W.grad.")
    if tuple(got.shape) != tuple(want.shape):
        return f"`grad` should have the shape of W, {tuple(want.shape)}, but it has shape {tuple(got.shape)}."
    if torch.allclose(got, 2 * want, **_TOL):
        return ("`grad` is twice the gradient of the loss: gradients accumulate. Every call to backward adds to "
                "W.grad, so in a training loop they must be cleared (zero_grad) before the next backward.")
    if not torch.allclose(got, want, **_TOL):
        return ("`grad` is not the gradient of the cross-entropy loss with respect to W: call backward on "
                "loss = F.cross_entropy(features @ W + b, y), not on another tensor.")
    return None


step2 = SCT(
    variable("loss").instance_of("torch.Tensor").equals(
        **_TOL, msg="`loss` should be F.cross_entropy(features @ W + b, y), a single number that tracks gradients."),
    custom(probe=_tensor("grad"), judge=_judge_grad),
)

# ----------------------------------------------------------------------------- step 3


def _loop_calls(tree) -> list[tuple[str, int]]:
    """The zero_grad, backward and step calls inside the training loop, in order."""
    calls = []
    for loop in (n for n in ast.walk(tree) if isinstance(n, ast.For)):
        for node in ast.walk(loop):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("zero_grad", "backward", "step", "zero_"):
                calls.append((node.func.attr, node.lineno))
    return sorted(set(calls), key=lambda c: c[1])


def _judge_training(got, want, ctx):
    if got is None:
        return "`W` should still be the weight tensor after training."
    if torch.allclose(got, want, **_TOL):
        return None
    calls = [name for name, _ in _loop_calls(ctx.tree)]
    if "step" not in calls:
        return "W never changed: after loss.backward(), call optimizer.step() to apply the update to W."
    if "zero_grad" not in calls and "zero_" not in calls:
        return ("The weights are wrong because gradients accumulate: each backward adds to W.grad, so without "
                "optimizer.zero_grad() at the start of each step, every update uses the sum of all earlier "
                "gradients.")
    if "backward" in calls and calls.index("step") < calls.index("backward"):
        return ("optimizer.step() runs before loss.backward(), so each update uses the previous step's gradients "
                "(and the first has none). Call step after backward.")
    return "After 5 steps, `W` is not where SGD with lr=0.01 takes it: zero_grad, then backward, then step."


def _losses(run):
    value = run.ns.get("losses")
    return [float(v) for v in value] if isinstance(value, list) else None


def _loss_goes_down(got, want, ctx):
    if not got or len(got) != len(want):
        return f"`losses` should hold the loss of each of the {len(want)} steps."
    if not got[-1] < got[0]:
        return "The loss did not go down during training: check the order zero_grad, backward, step."
    return None


step3 = SCT(
    custom(probe=_tensor("W"), judge=_judge_training),
    custom(probe=_losses, judge=_loss_goes_down),
)

steps = [step1, step2, step3]

cases = [
    # step 1: score the batch with one matrix product
    wrong("picks the best image per class", step=1, replace={"argmax(dim=1)": "argmax(dim=0)"},
          says="best image for each class"),
    wrong("forgets the bias", step=1, replace={"scores = features @ W + b": "scores = features @ W"},
          says="with the bias b broadcast over every row"),
    wrong("keeps scoring one image at a time", step=1,
          replace={"scores = features @ W + b": "scores = torch.stack([features[i] @ W + b for i in range(64)])"},
          says="one at a time again"),
    right("calls torch.matmul", step=1, replace={"features @ W + b\n": "torch.matmul(features, W) + b\n",
                                                 "argmax(dim=1)": "argmax(1)"}),
    # step 2: autograd
    wrong("never calls backward", step=2, replace={"loss.backward()": "loss.detach()"}, says="`grad` is None"),
    wrong("runs forward and backward twice without clearing", step=2,
          replace={"loss.backward()": "loss.backward()\nF.cross_entropy(features @ W + b, y).backward()"},
          says="gradients accumulate"),
    wrong("differentiates the sum of the scores", step=2, replace={"loss.backward()": "scores.sum().backward()"},
          says="not the gradient of the cross-entropy loss"),
    right("asks torch.autograd.grad directly", step=2,
          replace={"loss.backward()\ngrad = W.grad": "loss.detach()\ngrad = torch.autograd.grad(loss, W)[0]"}),
    # step 3: train for five steps
    wrong("forgets zero_grad", step=3, replace={"optimizer.zero_grad()": "pass"}, says="gradients accumulate"),
    wrong("steps before backward", step=3,
          replace={"    loss.backward()\n    # Move W against its gradient\n    optimizer.step()":
                   "    optimizer.step()\n    # Move W against its gradient\n    loss.backward()"},
          says="Call step after backward"),
    wrong("never steps", step=3, replace={"optimizer.step()": "pass"}, says="W never changed"),
    right("updates W by hand", step=3,
          replace={"optimizer.zero_grad()": "W.grad = None",
                   "optimizer.step()": "W.data -= 0.01 * W.grad"}),
]
