"""A model made ready for inference: ``inference_model``.

A model loaded for inference must be a real ``nn.Module`` (not a pickled object of
unknown origin), in eval mode (dropout off, batch norm on its running statistics) and
hold exactly the weights that were saved; then it gives the saved model's outputs.
"""
from __future__ import annotations

import copy

from graders.compare import mismatch
from graders.sct.api import Check, cifar_batch, class_names, Fail, fail_with, lookup, missing_fail

_EVAL_HELP = ("dropout drops activations at random and batch norm normalises with each batch's own statistics, "
              "so the same image gets different predictions. Call .eval() before inference.")


class _InferenceModel(Check):
    def __init__(self, name: str, batch: int):
        self.name, self.batch = name, batch
        self.tests: list[tuple[str, dict]] = []

    def in_eval_mode(self, msg: str | None = None) -> "_InferenceModel":
        """The module and every submodule have ``training == False``."""
        self.tests.append(("eval", {"msg": msg}))
        return self

    def matches_weights(self, path: str, key: str | None = None, prefix: str = "",
                        msg: str | None = None) -> "_InferenceModel":
        """Its ``state_dict`` equals the tensors saved in ``path`` (loaded with
        ``weights_only=True``); ``key`` picks a dict inside the file (``"state_dict"`` of a
        Lightning checkpoint) and ``prefix`` is stripped from the saved names (``"net."``)."""
        self.tests.append(("weights", {"path": path, "key": key, "prefix": prefix, "msg": msg}))
        return self

    def reproduces(self, reference: str, atol: float = 1e-5, msg: str | None = None) -> "_InferenceModel":
        """As it is (mode included), it gives the outputs of ``reference`` in eval mode on
        a batch of real CIFAR-10 test images."""
        self.tests.append(("reproduces", {"reference": reference, "atol": atol, "msg": msg}))
        return self

    def probe(self, run):
        import os

        import torch
        from torch import nn

        from graders.sct.api import learner_error

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": class_names(obj), "is_module": isinstance(obj, nn.Module)}
        if not info["is_module"]:
            return info
        info["training"] = [n or "(the model itself)" for n, m in obj.named_modules() if m.training]
        for kind, opts in self.tests:
            if kind == "weights":
                path = os.path.join(run.workdir, opts["path"])
                try:
                    saved = torch.load(path, map_location="cpu", weights_only=True)
                    if opts["key"]:
                        saved = saved[opts["key"]]
                    saved = {k.removeprefix(opts["prefix"]): v for k, v in saved.items()}
                except Exception as err:
                    info["weights"] = {"error": learner_error(err)}
                    continue
                mine = obj.state_dict()
                info["weights"] = {
                    "missing": sorted(set(saved) - set(mine))[:5], "unexpected": sorted(set(mine) - set(saved))[:5],
                    "differ": [k for k in saved if k in mine and (saved[k].shape != mine[k].shape
                                                                   or not torch.equal(saved[k], mine[k].cpu()))][:5]}
            elif kind == "reproduces":
                x, _ = cifar_batch(self.batch)
                ref = run.ns.get(opts["reference"])
                try:
                    with torch.no_grad():
                        want = copy.deepcopy(ref).eval()(x)
                        got = obj(x)
                    info["outputs"] = {"got": got, "want": want}
                except Exception as err:
                    info["outputs"] = {"error": learner_error(err)}
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_module"]:
            return fail_with(None, Fail(f"`{self.name}` should be a torch.nn.Module ready for inference.",
                                    expected="an nn.Module", got=got["types"][0].split(".")[-1]), ctx, self.name)
        for kind, opts in self.tests:
            fail = None
            if kind == "eval" and got["training"]:
                fail = Fail(f"`{self.name}` is still in training mode: " + _EVAL_HELP,
                            expected="training=False everywhere", got="training=True in " + ", ".join(got["training"][:3]))
            elif kind == "weights":
                w = got["weights"]
                if "error" in w:  # the instructor's msg is about the weights, not about a file that will not load
                    err = w["error"]
                    if err["type"] in ("FileNotFoundError", "IsADirectoryError"):
                        return Fail(f"Your code did not write '{opts['path']}': save the weights there with "
                                    "torch.save(model.state_dict(), path), so that a new process can load them.",
                                    detail=f"{err['type']}: {err['message'][:400]}")
                    return Fail(f"'{opts['path']}' does not load as a dict of tensors with "
                                "torch.load(weights_only=True), as a state dict always does: a pickled model does "
                                "not. Save model.state_dict().", detail=f"{err['type']}: {err['message'][:400]}")
                elif w["missing"] or w["unexpected"]:
                    fail = Fail(f"`{self.name}` does not have the layers saved in '{opts['path']}'.",
                                expected=", ".join(w["missing"]) or "no other parameters",
                                got=", ".join(w["unexpected"]) or "none of them")
                elif w["differ"]:
                    fail = Fail(f"`{self.name}` does not hold the weights saved in '{opts['path']}': "
                                f"{', '.join(w['differ'][:3])} differ. Load the file's state dict into it with "
                                "load_state_dict.")
            elif kind == "reproduces":
                out = got["outputs"]
                if "error" in out:
                    err = out["error"]
                    fail = Fail(f"Calling `{self.name}` on a batch of CIFAR-10 images raised {err['type']}: "
                                f"{err['message']}", line=err.get("line"))
                else:
                    fail = mismatch(f"{self.name}(images)", out["got"], out["want"], atol=opts["atol"], rtol=1e-4,
                                    check_requires_grad=False)
                    if fail:
                        fail.message += f" It should give the outputs of `{opts['reference']}` in eval mode."
            if fail:
                return fail_with(opts["msg"], fail, ctx, self.name)
        return None


def inference_model(name: str, batch: int = 8) -> _InferenceModel:
    """Check a model loaded for inference: ``inference_model("restored").in_eval_mode()
    .matches_weights("weights.pt").reproduces("model")``."""
    return _InferenceModel(name, batch)
