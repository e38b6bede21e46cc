"""SCT for 2.1.1, Write the training loop by hand."""
import ast

import torch

from graders.sct import SCT, custom, right, uses, wrong


def _model_state(run):
    model = run.ns.get("model")
    if not isinstance(model, torch.nn.Module):
        return None
    return {"training": model.training,
            "weights": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "has_grad": any(p.grad is not None and bool(p.grad.abs().sum()) for p in model.parameters())}


def _training_mode(got, want, ctx):
    if got is None:
        return "`model` is no longer an nn.Module: keep training the TinyNet the exercise gives you."
    if not got["training"]:
        return ("`model` is still in evaluation mode, so dropout is switched off while it trains. Call "
                "model.train() before the loop: evaluation mode is for measuring, not for learning.")
    return None


def _zero_grad_in_loop(got, want, ctx):
    for loop in (n for n in ast.walk(ctx.tree) if isinstance(n, ast.For)):
        if any(isinstance(c, ast.Call) and getattr(c.func, "attr", None) == "zero_grad" for c in ast.walk(loop)):
            return None
    return ("optimizer.zero_grad() must run for every batch, inside the loop: PyTorch adds each new gradient "
            "to the one already stored, so one call before the loop is not enough.")


def _same_weights(got, want, ctx):
    for name, value in want["weights"].items():
        if not torch.allclose(got["weights"][name], value, atol=1e-5):
            if not got["has_grad"]:
                return ("The weights differ from one epoch of SGD, and no gradient is left after the loop: "
                        "zero_grad runs between backward and step, so step sees no gradients. Clear the "
                        "gradients at the start of each batch, before the forward pass.")
            return (f"After one epoch, `model`'s weights ({name}) differ from the expected ones. Each batch "
                    "should run zero_grad, the forward pass and the loss, backward, then step, in that order.")
    return None


sct = SCT(
    custom(probe=_model_state, judge=_training_mode),
    uses(".zero_grad", msg="Your loop never clears the gradients. PyTorch adds each backward pass to the "
                           "gradients already stored, so without optimizer.zero_grad() every step uses the "
                           "sum of all earlier batches' gradients."),
    custom(judge=_zero_grad_in_loop),
    uses(".backward", msg="Call loss.backward() before optimizer.step(): without it there are no gradients "
                          "and the step changes nothing."),
    custom(probe=_model_state, judge=_same_weights),
)

cases = [
    wrong("forgets zero_grad", replace={"    optimizer.zero_grad()\n": ""}, says="gradients already stored"),
    wrong("leaves the model in evaluation mode", replace={"model.train()": "model.eval()"},
          says="still in evaluation mode"),
    wrong("clears the gradients once, before the loop",
          replace={"model.train()\n": "model.train()\noptimizer.zero_grad()\n", "    optimizer.zero_grad()\n": ""},
          says="inside the loop"),
    wrong("clears the gradients between backward and step",
          replace={"    optimizer.zero_grad()\n    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n":
                   "    loss = F.cross_entropy(model(x), y)\n    loss.backward()\n    optimizer.zero_grad()\n"},
          says="between backward and step"),
    right("clears the gradients through the model", replace={"optimizer.zero_grad()": "model.zero_grad()"}),
]
