"""SCT for 2.1.2, Wrap a PyTorch model in a LightningModule."""

import torch

from graders.sct import SCT, SOLUTION, avoids, custom, lightning_module, right, trainer, variable, wrong


def _weights(run):
    lit = run.ns.get("lit_model")
    inner = getattr(lit, "model", None)
    if not isinstance(inner, torch.nn.Module):
        return None
    return {k: v.detach().clone() for k, v in inner.state_dict().items()}


def _trained_like_the_solution(got, want, ctx):
    if got is None:
        return "Keep the plain PyTorch model in `self.model`, as the scaffold does: the Trainer trains it there."
    for name, value in want.items():
        if not torch.allclose(got[name], value, atol=1e-5):
            return (
                f"After one epoch, the weights of `lit_model.model` ({name}) are not the expected ones. "
                "configure_optimizers should return SGD over self.parameters(), the module's own "
                "parameters, and training_step should return the cross-entropy loss of self.model."
            )
    return None


sct = SCT(
    avoids(
        ".backward",
        ".zero_grad",
        ".step",
        msg="training_step only computes and returns the loss: the Trainer calls zero_grad, backward and the "
        "optimizer's step itself. Calling them here as in a plain PyTorch loop does that work twice.",
    ),
    variable("lit_model").instance_of(
        "pytorch_lightning.LightningModule",
        msg="LitClassifier should subclass pl.LightningModule: a plain nn.Module has no training_step "
        "or configure_optimizers for the Trainer to call.",
    ),
    lightning_module("lit_model")
    .hooks("training_step", "configure_optimizers")
    .training_step_loss(
        msg="training_step must return the loss of the batch. The Trainer calls backward and the optimizer's "
        "step on the tensor you return: with nothing returned, Lightning skips the batch and nothing trains."
    )
    .optimizers(),
    # A fresh instance (under the probe's seed: the solution's initial weights) for the values:
    # the trained lit_model's loss depends on the whole run.
    lightning_module("LitClassifier()")
    .same_optimizer()
    .loss_value(
        msg="training_step returns a loss of {got} where the cross-entropy of self.model's logits is {expected}: "
        "return F.cross_entropy(self.model(x), y), on the raw logits (it applies log-softmax itself)."
    ),
    trainer("trainer")
    .fitted()
    .ran(model="lit_model", train_loader="train_loader", train_batches=SOLUTION, optimizer_steps=SOLUTION),
    custom(probe=_weights, judge=_trained_like_the_solution),
    errors={
        r"training_step.*(must|should) return|returned .*float|MisconfigurationException.*training_step": "training_step must return the loss tensor itself (or a dict with a 'loss' key): .item() or float() "
        "turns it into a number that Lightning cannot call backward on."
    },
)

_RETURN = "return F.cross_entropy(self.model(x), y)"

cases = [
    wrong(
        "computes the loss but does not return it",
        replace={_RETURN: "loss = F.cross_entropy(self.model(x), y)"},
        says="with nothing returned, Lightning skips the batch",
    ),
    wrong(
        "subclasses nn.Module, as in plain PyTorch",
        replace={"pl.LightningModule": "nn.Module"},
        says="must be a `LightningModule`",
    ),
    wrong(
        "gives the optimizer hook another name",
        replace={"def configure_optimizers": "def optimizer"},
        says="No `configure_optimizers()` method defined",
    ),
    wrong(
        "optimizes the parameters of a new model",
        replace={"torch.optim.SGD(self.parameters()": "torch.optim.SGD(TinyNet().parameters()"},
        says="not this module's own",
    ),
    wrong(
        "calls backward itself, as in a plain PyTorch loop",
        replace={_RETURN: "loss = F.cross_entropy(self.model(x), y)\n        loss.backward()\n        return loss"},
        says="the Trainer calls zero_grad, backward and the optimizer's step itself",
    ),
    wrong(
        "returns the loss as a Python number",
        replace={_RETURN: _RETURN + ".item()"},
        says="training_step must return the loss tensor itself",
    ),
    wrong(
        "applies softmax before cross_entropy",
        replace={_RETURN: "return F.cross_entropy(F.softmax(self.model(x), dim=1), y)"},
        says="on the raw logits",
    ),
    wrong(
        "returns the logits' mean instead of a loss",
        replace={_RETURN: "return self.model(x).mean()"},
        says="on the raw logits",
    ),
    wrong(
        "trains with Adam",
        replace={"torch.optim.SGD(": "torch.optim.Adam("},
        says="returns Adam; the exercise asks for SGD",
    ),
    wrong("uses a ten times larger learning rate", replace={"lr=0.05": "lr=0.5"}, says="learning rate is 0.5"),
    wrong(
        "fits a new LitClassifier, not lit_model",
        replace={"trainer.fit(lit_model, train_loader)": "trainer.fit(LitClassifier(), train_loader)"},
        says="not `lit_model`",
    ),
    wrong(
        "fits on the validation loader",
        replace={"trainer.fit(lit_model, train_loader)": "trainer.fit(lit_model, val_loader)"},
        says="trained on `val_loader`, not on `train_loader`",
    ),
    wrong(
        "makes a new Trainer that stops after one batch",
        replace={
            "trainer.fit(lit_model, train_loader)": "trainer = pl.Trainer(fast_dev_run=True, **QUIET)\ntrainer.fit(lit_model, train_loader)"
        },
        says="fast_dev_run=True runs a single batch",
    ),
    right(
        "optimizes the wrapped model's parameters and names the loss",
        replace={
            "self.parameters()": "self.model.parameters()",
            _RETURN: "loss = F.cross_entropy(self.model(x), y)\n        return loss",
        },
    ),
    right(
        "returns a dict and passes the loader by keyword",
        replace={
            _RETURN: 'return {"loss": F.cross_entropy(self.model(x), y)}',
            "trainer.fit(lit_model, train_loader)": "trainer.fit(lit_model, train_dataloaders=train_loader)",
        },
    ),
    right(
        "adds a forward and calls self",
        replace={
            "    def training_step": "    def forward(self, x):\n        return self.model(x)\n\n    def training_step",
            _RETURN: "return F.cross_entropy(self(x), y)",
        },
    ),
]
