"""Files the learner's code writes (checkpoints, state dicts, exported models): ``file``."""

from __future__ import annotations

import copy
import glob
import os

from graders.compare import mismatch
from graders.sct.api import Check, Fail, cifar_batch, fail_with


class _File(Check):
    def __init__(self, pattern: str):
        self.pattern = pattern
        self.kind: str | None = None
        self.model: str | None = None
        self.batch = 4
        self.atol = 1e-5
        self.msgs: dict[str, str | None] = {}

    def loads(self, kind: str, msg: str | None = None) -> "_File":
        """The file loads as ``kind``: checkpoint, state_dict, torchscript, exported or onnx."""
        if kind not in ("checkpoint", "state_dict", "torchscript", "exported", "onnx"):
            raise ValueError(f"unknown file kind {kind!r}")
        self.kind, self.msgs["loads"] = kind, msg
        return self

    def matches_model(self, name: str, batch: int = 4, atol: float = 1e-5, msg: str | None = None) -> "_File":
        """What the file holds gives the same outputs as the model ``name`` on a CIFAR-10 batch."""
        self.model, self.batch, self.atol, self.msgs["matches"] = name, batch, atol, msg
        return self

    def probe(self, run):
        import torch

        from graders.sct.api import learner_error

        paths = sorted(glob.glob(os.path.join(run.workdir, self.pattern), recursive=True))
        info: dict = {"found": [os.path.relpath(p, run.workdir) for p in paths]}
        if not paths or not self.kind:
            return info
        path = paths[-1]
        try:
            loaded = _load_file(self.kind, path, run.ns.get(self.model) if self.model else None)
            info["loaded"] = True
        except Exception as err:
            info["load_error"] = learner_error(err)
            return info
        if self.model:
            x, _ = cifar_batch(self.batch)
            with torch.no_grad():
                model = run.ns[self.model].eval()
                info["model_out"] = model(x)
                info["file_out"] = loaded(x)
        return info

    def judge(self, got, want, ctx):
        if not got["found"]:
            return Fail(
                f"No file matching '{self.pattern}' was written.", expected=f"a file {self.pattern}", got="no such file"
            )
        if "load_error" in got:
            err = got["load_error"]
            return fail_with(
                self.msgs.get("loads"),
                Fail(f"'{got['found'][-1]}' does not load as a {self.kind}: {err['type']}: {err['message']}"),
            )
        if self.model:
            fail = mismatch(
                f"the output of the model loaded from '{got['found'][-1]}'",
                got["file_out"],
                got["model_out"],
                atol=self.atol,
                rtol=1e-4,
                check_requires_grad=False,
            )
            if fail:
                fail.message += f" It should give the same outputs as `{self.model}`."
                return fail_with(self.msgs.get("matches"), fail)
        return None


def _load_file(kind: str, path: str, model):
    """Load ``path`` and return a callable that maps a batch to outputs."""
    import torch

    if kind == "checkpoint":
        if model is None:
            torch.load(path, map_location="cpu", weights_only=False)
            return None
        return type(model).load_from_checkpoint(path, map_location="cpu").eval()
    if kind == "state_dict":
        state = torch.load(path, map_location="cpu", weights_only=True)
        if model is None:
            return None
        clone = copy.deepcopy(model)
        clone.load_state_dict(state)
        return clone.eval()
    if kind == "torchscript":
        return torch.jit.load(path, map_location="cpu").eval()
    if kind == "exported":
        return torch.export.load(path).module()
    from course.core import onnxrt  # one thread, no spinning (ORT issue 13808)

    session = onnxrt.session(path)
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def file(pattern: str) -> _File:
    """Check a file the exercise writes (a glob, relative to the run's working directory)."""
    return _File(pattern)
