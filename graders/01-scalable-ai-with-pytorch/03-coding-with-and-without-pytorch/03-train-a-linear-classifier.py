"""SCT for 1.3.3, the chapter 1 capstone: a linear classifier, from loops to autograd.

Iterative: each step runs on its own after the exercise's pre-exercise code."""

import ast

import torch

from graders.sct import SCT, Fail, correct, custom, optimizer_steps, right, variable, wrong

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
                return Fail(
                    "This line scores the images one at a time again. A single matrix product, "
                    "features @ W + b, scores every row of features at once: that is what scales to "
                    "large batches and to GPUs.",
                    line=node.lineno,
                )
    return None


def _judge_scores(got, want, ctx):
    if got is None:
        return "`scores` should be a tensor: features @ W + b."
    if tuple(got.shape) != (64, 10):
        return (
            f"`scores` has shape {tuple(got.shape)}, but it should have one row of 10 class scores per "
            "image, (64, 10): multiply all of features, (64, 3072), by W, (3072, 10)."
        )
    if not torch.allclose(got, want, **_TOL):
        return (
            "`scores` has the right shape but the wrong values: it should be features @ W + b, the same as "
            "the loop's rows, with the bias b broadcast over every row."
        )
    return None


def _judge_pred(got, want, ctx):
    if got is None:
        return "`pred` should be a tensor: scores.argmax(dim=1)."
    if tuple(got.shape) == (10,):
        return (
            "`pred` has one entry per class: argmax(dim=0) looks down each column and finds the best image "
            "for each class. Use dim=1 to find the best class for each image."
        )
    if tuple(got.shape) != tuple(want.shape) or not torch.equal(got, want):
        return "`pred` should hold the position of the highest score in each row: scores.argmax(dim=1)."
    return None


step1 = SCT(
    custom(judge=_scores_without_loops),
    custom(probe=_tensor("scores"), judge=_judge_scores),
    variable("scores").computed_with(
        "matmul",
        "mm",
        "addmm",
        "linear",
        "einsum",
        msg="`scores` has the right values, but your code did not compute it with a matrix product of its own: "
        "score all 64 images at once, features @ W + b.",
    ),
    custom(probe=_tensor("pred"), judge=_judge_pred),
)

# ----------------------------------------------------------------------------- step 2


def _judge_grad(got, want, ctx):
    if got is None:
        return (
            "`grad` is None: W.grad is only filled in when W tracks gradients and loss.backward() has run. "
            "Call loss.backward() before reading W.grad."
        )
    if tuple(got.shape) != tuple(want.shape):
        return f"`grad` should have the shape of W, {tuple(want.shape)}, but it has shape {tuple(got.shape)}."
    if torch.allclose(got, 2 * want, **_TOL):
        return (
            "`grad` is twice the gradient of the loss: gradients accumulate. Every call to backward adds to "
            "W.grad, so in a training loop they must be cleared (zero_grad) before the next backward."
        )
    if not torch.allclose(got, want, **_TOL):
        return (
            "`grad` is not the gradient of the cross-entropy loss with respect to W: call backward on "
            "loss = F.cross_entropy(features @ W + b, y), not on another tensor."
        )
    return None


def _loss_facts(run):
    import torch.nn.functional as F

    ns = run.ns
    loss = ns.get("loss")
    if not isinstance(loss, torch.Tensor):
        return {"type": type(loss).__name__}
    scores = ns["features"] @ ns["W"].detach() + ns["b"]
    return {
        "type": "Tensor",
        "value": float(loss.detach()),
        "grad": loss.requires_grad,
        "softmaxed": float(F.cross_entropy(scores.softmax(dim=1), ns["y"])),
    }


def _judge_loss(got, want, ctx):
    if got["type"] != "Tensor":
        return (
            f"`loss` is a {got['type']}, not a tensor: .item() or float() turns it into a Python number, which "
            "autograd cannot differentiate. Keep the tensor: loss = F.cross_entropy(scores, y)."
        )
    if abs(got["value"] - want["value"]) <= 1e-4 and got["grad"]:
        return None
    if abs(got["value"] - got["softmaxed"]) <= 1e-4:
        return (
            "`loss` applies softmax before cross_entropy, which applies log-softmax itself: pass the raw "
            "scores, F.cross_entropy(scores, y)."
        )
    if abs(got["value"] - want["value"]) <= 1e-4:
        return "`loss` has the right value but does not track gradients: was it computed under torch.no_grad()?"
    return "`loss` should be F.cross_entropy(features @ W + b, y), a single number that tracks gradients."


step2 = SCT(
    custom(probe=_loss_facts, judge=_judge_loss),
    custom(probe=_tensor("grad"), judge=_judge_grad),
)

# ----------------------------------------------------------------------------- step 3


def _loop_calls(tree) -> list[tuple[str, int]]:
    """The zero_grad, backward and step calls inside the training loop, in order."""
    calls = []
    for loop in (n for n in ast.walk(tree) if isinstance(n, ast.For)):
        for node in ast.walk(loop):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("zero_grad", "backward", "step", "zero_")
            ):
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
        return (
            "The weights are wrong because gradients accumulate: each backward adds to W.grad, so without "
            "optimizer.zero_grad() at the start of each step, every update uses the sum of all earlier "
            "gradients."
        )
    if "backward" in calls and calls.index("step") < calls.index("backward"):
        return (
            "optimizer.step() runs before loss.backward(), so each update uses the previous step's gradients "
            "(and the first has none). Call step after backward."
        )
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
    # W is what counts (an update written by hand is fine); when it is wrong, what the
    # optimizer really did (how many steps, which optimizer and lr) is named first.
    correct(custom(probe=_tensor("W"), judge=_judge_training), diagnose=[optimizer_steps()]),
    custom(probe=_losses, judge=_loss_goes_down),
)

steps = [step1, step2, step3]

_STEP3_LOOP = """for step in range(5):
    # Clear the gradients left by the previous step
    optimizer.zero_grad()
    loss = F.cross_entropy(features @ W + b, y)
    loss.backward()"""

cases = [
    # step 1: score the batch with one matrix product
    wrong(
        "picks the best image per class",
        step=1,
        replace={"argmax(dim=1)": "argmax(dim=0)"},
        says="best image for each class",
    ),
    wrong(
        "forgets the bias",
        step=1,
        replace={"scores = features @ W + b": "scores = features @ W"},
        says="with the bias b broadcast over every row",
    ),
    wrong(
        "keeps scoring one image at a time",
        step=1,
        replace={"scores = features @ W + b": "scores = torch.stack([features[i] @ W + b for i in range(64)])"},
        says="one at a time again",
    ),
    wrong(
        "scores only the 8 images of the loop",
        step=1,
        replace={"scores = features @ W + b": "scores = loop_scores"},
        says="(64, 10)",
    ),
    wrong(
        "multiplies element-wise and sums",
        step=1,
        replace={"scores = features @ W + b": "scores = (features * W.T[0]).sum(dim=1, keepdim=True) + b"},
        says="the right shape but the wrong values",
    ),
    wrong(
        "takes the highest score instead of its position",
        step=1,
        replace={"pred = scores.argmax(dim=1)": "pred = scores.max(dim=1).values"},
        says="position of the highest score",
    ),
    wrong(
        "picks the lowest score",
        step=1,
        replace={"argmax(dim=1)": "argmin(dim=1)"},
        says="position of the highest score",
    ),
    wrong(
        "transposes W",
        step=1,
        replace={"scores = features @ W + b": "scores = features @ W.T + b"},
        says="in_features must equal",
    ),
    right(
        "calls torch.matmul",
        step=1,
        replace={"features @ W + b\n": "torch.matmul(features, W) + b\n", "argmax(dim=1)": "argmax(1)"},
    ),
    right(
        "adds the bias inside addmm and takes the arg max with torch.argmax",
        step=1,
        replace={
            "scores = features @ W + b": "scores = torch.addmm(b, features, W)",
            "pred = scores.argmax(dim=1)": "pred = torch.argmax(scores, dim=1)",
        },
    ),
    right(
        "takes the arg max of the probabilities",
        step=1,
        replace={"pred = scores.argmax(dim=1)": "pred = scores.softmax(dim=1).argmax(dim=1)"},
    ),
    # step 2: autograd
    wrong("never calls backward", step=2, replace={"loss.backward()": "loss.detach()"}, says="`grad` is None"),
    wrong(
        "runs forward and backward twice without clearing",
        step=2,
        replace={"loss.backward()": "loss.backward()\nF.cross_entropy(features @ W + b, y).backward()"},
        says="gradients accumulate",
    ),
    wrong(
        "differentiates the sum of the scores",
        step=2,
        replace={"loss.backward()": "scores.sum().backward()"},
        says="not the gradient of the cross-entropy loss",
    ),
    wrong("forgets to track W", step=2, replace={"W.requires_grad_(True)\n": ""}, says="does not track gradients"),
    wrong(
        "turns the loss into a Python number",
        step=2,
        replace={"loss = F.cross_entropy(scores, y)": "loss = F.cross_entropy(scores, y).item()"},
        says="The loss is a Python number, not a tensor",
    ),
    wrong(
        "applies softmax before cross_entropy",
        step=2,
        replace={"F.cross_entropy(scores, y)": "F.cross_entropy(scores.softmax(dim=1), y)"},
        says="applies softmax before cross_entropy",
    ),
    wrong(
        "backpropagates twice through the same graph",
        step=2,
        replace={"loss.backward()": "loss.backward()\nloss.backward()"},
        says="backward frees the graph",
    ),
    right(
        "asks torch.autograd.grad directly",
        step=2,
        replace={"loss.backward()\ngrad = W.grad": "loss.detach()\ngrad = torch.autograd.grad(loss, W)[0]"},
    ),
    right(
        "sets requires_grad and spells out log-softmax",
        step=2,
        replace={
            "W.requires_grad_(True)": "W.requires_grad = True",
            "F.cross_entropy(scores, y)": "F.nll_loss(F.log_softmax(scores, dim=1), y)",
        },
    ),
    # step 3: train for five steps
    wrong("forgets zero_grad", step=3, replace={"optimizer.zero_grad()": "pass"}, says="gradients accumulate"),
    wrong(
        "steps before backward",
        step=3,
        replace={
            "    loss.backward()\n    # Move W against its gradient\n    optimizer.step()": "    optimizer.step()\n    # Move W against its gradient\n    loss.backward()"
        },
        says="Call step after backward",
    ),
    wrong("never steps", step=3, replace={"optimizer.step()": "pass"}, says="never called optimizer.step()"),
    wrong("trains for four steps", step=3, replace={"range(5)": "range(4)"}, says="took 4 optimizer steps"),
    wrong("uses a ten times larger learning rate", step=3, replace={"lr=0.01": "lr=0.1"}, says="SGD(lr=0.01)"),
    wrong(
        "trains with Adam",
        step=3,
        replace={"torch.optim.SGD([W], lr=0.01)": "torch.optim.Adam([W], lr=0.01)"},
        says="steps the optimizer Adam",
    ),
    wrong(
        "computes the loss once, before the loop",
        step=3,
        replace={
            _STEP3_LOOP: "loss = F.cross_entropy(features @ W + b, y)\nfor step in range(5):\n"
            "    # Clear the gradients left by the previous step\n    optimizer.zero_grad()\n"
            "    loss.backward()"
        },
        says="backward frees the graph",
    ),
    wrong(
        "updates W in place outside no_grad",
        step=3,
        replace={"optimizer.step()": "W -= 0.01 * W.grad"},
        says="inside `with torch.no_grad():`",
    ),
    right(
        "updates W by hand",
        step=3,
        replace={"optimizer.zero_grad()": "W.grad = None", "optimizer.step()": "W.data -= 0.01 * W.grad"},
    ),
    right(
        "updates W under no_grad and records the loss tensor",
        step=3,
        replace={
            "optimizer.step()": "with torch.no_grad():\n        W -= 0.01 * W.grad",
            "optimizer.zero_grad()": "W.grad = None",
            "losses.append(round(loss.item(), 4))": "losses.append(loss.detach())",
        },
    ),
]
