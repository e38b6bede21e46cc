"""Exported models and their runtimes: ``exported_file`` and ``ort_session``.

An exported file is judged by what it does: loaded the way production loads it
(``torch.export.load`` for ``.pt2``, ONNX Runtime for ``.onnx``), it must reproduce the
model's outputs on real CIFAR-10 test images, at each batch size asked for, so a
batch dimension fixed at export time shows up as the failure it causes.
"""
from __future__ import annotations

import copy
import glob
import os

from course.core import onnxrt
from course.core.onnxrt import session_options as ort_options  # noqa: F401 (graders.sct re-exports it)
from graders.compare import mismatch
from graders.sct.api import Check, cifar_batch, class_names, Fail, fail_with, lookup, missing_fail


def _runner(path: str):
    """A callable from a batch tensor to an output tensor, loaded as production would."""
    import torch

    if path.endswith(".onnx"):
        session = onnxrt.session(path)
        name = session.get_inputs()[0].name
        return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])
    return torch.export.load(path).module()


class _ExportedFile(Check):
    def __init__(self, pattern: str):
        self.pattern = pattern
        self.model: str | None = None
        self.batches: tuple[int, ...] = (1, 5)
        self.atol = 1e-4
        self.msgs: dict[str, str | None] = {}

    def reproduces(self, model: str, batches: tuple[int, ...] = (1, 5), atol: float = 1e-4,
                   msg: str | None = None, batch_msg: str | None = None) -> "_ExportedFile":
        """Loaded as production loads it, the file gives ``model``'s eval-mode outputs on
        real CIFAR-10 test images at every batch size in ``batches`` (``batch_msg`` speaks
        to a batch size that fails, ``msg`` to outputs that differ)."""
        self.model, self.batches, self.atol = model, tuple(batches), atol
        self.msgs.update(reproduces=msg, batch=batch_msg)
        return self

    def probe(self, run):
        import torch

        from graders.sct.api import learner_error

        paths = sorted(glob.glob(os.path.join(run.workdir, self.pattern)))
        info: dict = {"found": [os.path.relpath(p, run.workdir) for p in paths]}
        if not paths:
            return info
        try:
            runner = _runner(paths[-1])
        except Exception as err:
            info["load_error"] = learner_error(err)
            return info
        if self.model is None:
            return info
        model = run.ns.get(self.model)
        if not isinstance(model, torch.nn.Module):
            info["no_model"] = True
            return info
        reference = copy.deepcopy(model).eval()
        info["batches"] = []
        for n in self.batches:
            x, _ = cifar_batch(n)
            entry: dict = {"n": n}
            try:
                with torch.no_grad():
                    entry["want"] = reference(x)
                    entry["got"] = runner(x)
            except Exception as err:
                entry["error"] = learner_error(err)
            info["batches"].append(entry)
        return info

    def judge(self, got, want, ctx):
        if not got["found"]:
            return Fail(f"No file matching '{self.pattern}' was written.", expected=f"a file {self.pattern}",
                        got="no such file")
        name = got["found"][-1]
        if "load_error" in got:
            err = got["load_error"]
            how = "ONNX Runtime" if name.endswith(".onnx") else "torch.export.load"
            return Fail(f"'{name}' does not load with {how}: {err['type']}: {err['message']}")
        if got.get("no_model"):
            return Fail(f"Your code does not define the model `{self.model}` any more.")
        for entry in got.get("batches", []):
            if "error" in entry:
                err = entry["error"]
                default = Fail(f"The model in '{name}' fails on a batch of {entry['n']} images: its batch size "
                               "was fixed when it was exported. Export with a dynamic batch dimension.",
                               detail=f"{err['type']}: {err['message'][:500]}")
                return fail_with(self.msgs.get("batch"), default)
            fail = mismatch(f"the output of '{name}' on {entry['n']} images", entry["got"], entry["want"],
                            atol=self.atol, rtol=1e-4, check_requires_grad=False)
            if fail:
                fail.message += f" It should reproduce `{self.model}` in eval mode."
                return fail_with(self.msgs.get("reproduces"), fail)
        return None


def exported_file(pattern: str) -> _ExportedFile:
    """Check an exported model file (a glob, relative to the run's folder): ``.pt2`` from
    ``torch.export.save`` or ``.onnx`` from ``torch.onnx.export``:
    ``exported_file("model.onnx").reproduces("model", batches=(1, 5))``."""
    return _ExportedFile(pattern)


class _OrtSession(Check):
    def __init__(self, name: str, msg: str | None):
        self.name, self.msg = name, msg

    def probe(self, run):
        import onnxruntime as ort

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        info: dict = {"exists": True, "types": class_names(obj), "is_session": isinstance(obj, ort.InferenceSession)}
        if info["is_session"]:
            options = obj.get_session_options()
            info["threads"] = options.intra_op_num_threads
            try:
                info["spinning"] = options.get_session_config_entry("session.intra_op.allow_spinning")
            except Exception:  # not set: ORT's default, which spins
                info["spinning"] = "1 (the default)"
            info["providers"] = obj.get_providers()
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_session"]:
            return fail_with(None, Fail(f"`{self.name}` should be an onnxruntime.InferenceSession.",
                                    expected="InferenceSession", got=got["types"][0].split(".")[-1]), ctx, self.name)
        if got["threads"] != 1 or got["spinning"] != "0":
            default = Fail(f"`{self.name}` uses ONNX Runtime's default threads, which spin while idle and slow down "
                           "PyTorch in the same process. Create it with SessionOptions that set "
                           "intra_op_num_threads = 1 and the config entry session.intra_op.allow_spinning = \"0\".",
                           expected="intra_op_num_threads=1, allow_spinning='0'",
                           got=f"intra_op_num_threads={got['threads']}, allow_spinning={got['spinning']!r}")
            return fail_with(self.msg, default, ctx, self.name)
        return None


def ort_session(name: str = "session", msg: str | None = None) -> Check:
    """An ``onnxruntime.InferenceSession`` created to share the CPU with PyTorch: one
    intra-op thread and spinning turned off."""
    return _OrtSession(name, msg)
