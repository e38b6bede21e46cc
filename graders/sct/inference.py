"""A model made ready for inference: ``inference_model``.

A model loaded for inference must be a real ``nn.Module`` (not a pickled object of
unknown origin), in eval mode (dropout off, batch norm on its running statistics) and
hold exactly the weights that were saved; then it gives the saved model's outputs.
"""

from __future__ import annotations

import copy

from graders.compare import mismatch
from graders.sct.api import (
    Fail,
    Family,
    SubCheck,
    cifar_batch,
    learner_error,
)

_EVAL_HELP = (
    "dropout drops activations at random and batch norm normalises with each batch's own statistics, "
    "so the same image gets different predictions. Call .eval() before inference."
)


class _InEvalMode(SubCheck):
    def __init__(self, name, msg):
        self.name, self.msg = name, msg

    def probe(self, run, obj):
        return [n or "(the model itself)" for n, m in obj.named_modules() if m.training]

    def judge(self, got, want, ctx):
        if got:
            return Fail(
                f"`{self.name}` is still in training mode: " + _EVAL_HELP,
                expected="training=False everywhere",
                got="training=True in " + ", ".join(got[:3]),
            )
        return None


def _saved(run, path: str, key: str | None, prefix: str) -> dict:
    """The tensors saved in ``path`` (``{"error": ...}`` when it is no dict of tensors)."""
    import os

    import torch

    try:
        saved = torch.load(os.path.join(run.workdir, path), map_location="cpu", weights_only=True)
        if key:
            saved = saved[key]
        return {"tensors": {k.removeprefix(prefix): v for k, v in saved.items()}}
    except Exception as err:
        return {"error": learner_error(err)}


class _WeightsLoad(SubCheck):
    """Before the weights are compared: a file that does not load as a state dict is its own
    mistake (the instructor's message is about the weights, not about this)."""

    locate = False

    def __init__(self, path, key, prefix):
        self.path, self.key, self.prefix = path, key, prefix

    def probe(self, run, obj):
        return _saved(run, self.path, self.key, self.prefix).get("error")

    def judge(self, got, want, ctx):
        if got and got["type"] in ("FileNotFoundError", "IsADirectoryError"):
            return Fail(
                f"Your code did not write '{self.path}': save the weights there with "
                "torch.save(model.state_dict(), path), so that a new process can load them.",
                detail=f"{got['type']}: {got['message'][:400]}",
            )
        if got:
            return Fail(
                f"'{self.path}' does not load as a dict of tensors with torch.load(weights_only=True), as a "
                "state dict always does: a pickled model does not. Save model.state_dict().",
                detail=f"{got['type']}: {got['message'][:400]}",
            )
        return None


class _MatchesWeights(SubCheck):
    def __init__(self, name, path, key, prefix, msg):
        self.name, self.path, self.key, self.prefix, self.msg = name, path, key, prefix, msg

    def probe(self, run, obj):
        import torch

        saved = _saved(run, self.path, self.key, self.prefix).get("tensors")
        if saved is None:
            return None  # _WeightsLoad said why
        mine = obj.state_dict()
        return {
            "missing": sorted(set(saved) - set(mine))[:5],
            "unexpected": sorted(set(mine) - set(saved))[:5],
            "differ": [
                k
                for k in saved
                if k in mine and (saved[k].shape != mine[k].shape or not torch.equal(saved[k], mine[k].cpu()))
            ][:5],
        }

    def judge(self, got, want, ctx):
        if got["missing"] or got["unexpected"]:
            return Fail(
                f"`{self.name}` does not have the layers saved in '{self.path}'.",
                expected=", ".join(got["missing"]) or "no other parameters",
                got=", ".join(got["unexpected"]) or "none of them",
            )
        if got["differ"]:
            return Fail(
                f"`{self.name}` does not hold the weights saved in '{self.path}': "
                f"{', '.join(got['differ'][:3])} differ. Load the file's state dict into it with "
                "load_state_dict."
            )
        return None


class _Reproduces(SubCheck):
    def __init__(self, name, batch, reference, atol, msg):
        self.name, self.batch, self.reference, self.atol, self.msg = name, batch, reference, atol, msg

    def probe(self, run, obj):
        import torch

        x, _ = cifar_batch(self.batch)
        ref = run.ns.get(self.reference)
        try:
            with torch.no_grad():
                want = copy.deepcopy(ref).eval()(x)
                got = obj(x)
            return {"got": got, "want": want}
        except Exception as err:
            return {"error": learner_error(err)}

    def judge(self, got, want, ctx):
        if "error" in got:
            err = got["error"]
            return Fail(
                f"Calling `{self.name}` on a batch of CIFAR-10 images raised {err['type']}: {err['message']}",
                line=err.get("line"),
            )
        fail = mismatch(
            f"{self.name}(images)", got["got"], got["want"], atol=self.atol, rtol=1e-4, check_requires_grad=False
        )
        if fail:
            fail.message += f" It should give the outputs of `{self.reference}` in eval mode."
        return fail


class _InferenceModel(Family):
    def __init__(self, name: str, batch: int):
        super().__init__(name)
        self.batch = batch

    def find(self, run):
        from torch import nn

        obj, facts = self.find_instance(run, nn.Module)
        return obj, facts

    def judge_subject(self, got, want, ctx):
        return self.judge_instance(
            got, ctx, f"`{self.name}` should be a torch.nn.Module ready for inference.", "an nn.Module"
        )

    def in_eval_mode(self, msg: str | None = None) -> "_InferenceModel":
        """The module and every submodule have ``training == False``."""
        return self.add(_InEvalMode(self.name, msg))

    def matches_weights(
        self, path: str, key: str | None = None, prefix: str = "", msg: str | None = None
    ) -> "_InferenceModel":
        """Its ``state_dict`` equals the tensors saved in ``path`` (loaded with
        ``weights_only=True``); ``key`` picks a dict inside the file (``"state_dict"`` of a
        Lightning checkpoint) and ``prefix`` is stripped from the saved names (``"net."``)."""
        self.add(_WeightsLoad(path, key, prefix))
        return self.add(_MatchesWeights(self.name, path, key, prefix, msg))

    def reproduces(self, reference: str, atol: float = 1e-5, msg: str | None = None) -> "_InferenceModel":
        """As it is (mode included), it gives the outputs of ``reference`` in eval mode on
        a batch of real CIFAR-10 test images."""
        return self.add(_Reproduces(self.name, self.batch, reference, atol, msg))


def inference_model(name: str, batch: int = 8) -> _InferenceModel:
    """Check a model loaded for inference: ``inference_model("restored").in_eval_mode()
    .matches_weights("weights.pt").reproduces("model")``."""
    return _InferenceModel(name, batch)
