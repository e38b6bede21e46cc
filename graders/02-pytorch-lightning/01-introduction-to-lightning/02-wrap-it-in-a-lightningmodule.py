"""SCT for 2.1.2, Wrap a PyTorch model in a LightningModule."""
import torch

from graders.sct import SCT, avoids, custom, lightning_module, right, trainer, variable, wrong


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
            return (f"After one epoch, the weights of `lit_model.model` ({name}) are not the expected ones. "
                    "configure_optimizers should return SGD over self.parameters(), the module's own "
                    "parameters, and training_step should return the cross-entropy loss of self.model.")
    return None


sct = SCT(
    avoids(".backward", ".zero_grad", ".step",
           msg="training_step only computes and returns the loss: the Trainer calls zero_grad, backward and the "
               "optimizer's step itself. Calling them here as in a plain PyTorch loop does that work twice."),
    variable("lit_model").instance_of(
        "pytorch_lightning.LightningModule",
        msg="LitClassifier should subclass pl.LightningModule: a plain nn.Module has no training_step "
            "or configure_optimizers for the Trainer to call."),
    lightning_module("lit_model").hooks("training_step", "configure_optimizers").training_step_loss(
        msg="training_step must return the loss of the batch. The Trainer calls backward and the optimizer's "
            "step on the tensor you return: with nothing returned, Lightning skips the batch and nothing trains."
    ).optimizers(),
    trainer("trainer").fitted(),
    custom(probe=_weights, judge=_trained_like_the_solution),
)

cases = [
    wrong("computes the loss but does not return it",
          replace={"return F.cross_entropy(self.model(x), y)": "loss = F.cross_entropy(self.model(x), y)"},
          says="with nothing returned, Lightning skips the batch"),
    wrong("subclasses nn.Module, as in plain PyTorch", replace={"pl.LightningModule": "nn.Module"},
          says="must be a `LightningModule`"),
    wrong("gives the optimizer hook another name", replace={"def configure_optimizers": "def optimizer"},
          says="No `configure_optimizers()` method defined"),
    wrong("optimizes the parameters of a new model",
          replace={"torch.optim.SGD(self.parameters()": "torch.optim.SGD(TinyNet().parameters()"},
          says="SGD over self.parameters()"),
    wrong("calls backward itself, as in a plain PyTorch loop",
          replace={"return F.cross_entropy(self.model(x), y)": "loss = F.cross_entropy(self.model(x), y)\n"
                                                               "        loss.backward()\n        return loss"},
          says="the Trainer calls zero_grad, backward and the optimizer's step itself"),
    right("optimizes the wrapped model's parameters and names the loss",
          replace={"self.parameters()": "self.model.parameters()",
                   "return F.cross_entropy(self.model(x), y)": "loss = F.cross_entropy(self.model(x), y)\n"
                                                               "        return loss"}),
]
