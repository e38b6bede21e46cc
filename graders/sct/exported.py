"""Exported models and their runtimes: ``exported_file`` and ``ort_session``.

An exported file is judged by what it does: loaded the way production loads it
(``torch.export.load`` for ``.pt2``, ONNX Runtime for ``.onnx``), it must reproduce the
model's outputs on real CIFAR-10 test images, at each batch size asked for, so a
batch dimension fixed at export time shows up as the failure it causes; an ONNX file's
operators say what a quantizer really did (``ops``). A session is judged on how it was
opened: its threads, and the file it runs (``opens``).
"""

from __future__ import annotations

import copy
import glob
import os

from course.core import onnxrt
from course.core.onnxrt import session_options as ort_options  # noqa: F401 (graders.sct re-exports it)
from graders.compare import mismatch
from graders.sct.api import (
    Fail,
    Family,
    SubCheck,
    cifar_batch,
    class_names,
    fail_with,
    learner_error,
    lookup,
    missing_fail,
)


def _runner(path: str):
    """A callable from a batch tensor to an output tensor, loaded as production would."""
    import torch

    if path.endswith(".onnx"):
        session = onnxrt.session(path)
        name = session.get_inputs()[0].name
        return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])
    return torch.export.load(path).module()


class _Exported:
    """The file ``exported_file`` found, loaded the way production loads it."""

    def __init__(self, path: str, name: str, runner):
        self.path, self.name, self.runner = path, name, runner


class _Reproduces(SubCheck):
    locate = False

    def __init__(self, model, batches, atol, msg, batch_msg, other_msg=None):
        # messages of its own (outputs, batch size, other weights): ``msg`` stays unset for the family
        self.model, self.batches, self.atol = model, tuple(batches), atol
        self.outputs_msg, self.batch_msg, self.other_msg = msg, batch_msg, other_msg

    def probe(self, run, exported):
        import torch

        model = run.ns.get(self.model)
        if not isinstance(model, torch.nn.Module):
            return {"no_model": True, "name": exported.name}
        reference = copy.deepcopy(model).eval()
        entries = []
        for n in self.batches:
            x, _ = cifar_batch(n)
            entry: dict = {"n": n}
            try:
                with torch.no_grad():
                    entry["want"] = reference(x)
                    entry["got"] = exported.runner(x)
                    # a graph traced in training mode keeps dropout: the same images give other outputs
                    entry["random"] = not torch.allclose(
                        torch.as_tensor(exported.runner(x)), torch.as_tensor(entry["got"])
                    )
            except Exception as err:  # as text: a dict here would be one level deeper than the wire keeps
                err = learner_error(err)
                entry["error"] = f"{err['type']}: {err['message'][:500]}"
            entries.append(entry)
        return {"name": exported.name, "batches": entries}

    def judge(self, got, want, ctx):
        if got.get("no_model"):
            return Fail(f"Your code does not define the model `{self.model}` any more.")
        name = got["name"]
        for entry in got["batches"]:
            if "error" in entry:
                default = Fail(
                    f"The model in '{name}' fails on a batch of {entry['n']} images: its batch size "
                    "was fixed when it was exported. Export with a dynamic batch dimension.",
                    detail=entry["error"],
                )
                return fail_with(self.batch_msg, default)
            fail = mismatch(
                f"the output of '{name}' on {entry['n']} images",
                entry["got"],
                entry["want"],
                atol=self.atol,
                rtol=1e-4,
                check_requires_grad=False,
            )
            if fail:
                fail.message += f" It should reproduce `{self.model}` in eval mode."
                if self.other_msg and entry.get("random") is False:
                    return fail_with(self.other_msg, fail)
                return fail_with(self.outputs_msg, fail)
        return None


class _Ops(SubCheck):
    """The operators of an ONNX graph: what an exporter or a quantizer really produced."""

    locate = False

    def __init__(self, has, lacks, msg):
        self.has, self.lacks, self.msg = tuple(has), tuple(lacks), msg

    def probe(self, run, exported):
        import onnx

        if not exported.path.endswith(".onnx"):
            return None
        return sorted({node.op_type for node in onnx.load(exported.path).graph.node})

    def judge(self, got, want, ctx):
        if got is None:
            return Fail("Only an ONNX file has operators to check.")
        present = [op for op in self.lacks if op in got]
        if present:
            return Fail(
                f"The ONNX graph holds {present[0]} nodes, which it should not.",
                expected=f"no {', '.join(self.lacks)}",
                got=", ".join(got),
            )
        missing = [op for op in self.has if op not in got]
        if missing:
            return Fail(
                f"The ONNX graph has no {missing[0]} node.",
                expected=", ".join(self.has),
                got=", ".join(got) or "no nodes",
            )
        return None


class _ExportedFile(Family):
    def __init__(self, pattern: str):
        super().__init__(None)  # a file, not a variable: failures point at no line
        self.pattern = pattern

    def find(self, run):
        paths = sorted(glob.glob(os.path.join(run.workdir, self.pattern)))
        facts: dict = {"found": [os.path.relpath(p, run.workdir) for p in paths]}
        if not paths:
            return None, facts
        try:
            runner = _runner(paths[-1])
        except Exception as err:
            facts["load_error"] = learner_error(err)
            return None, facts
        return _Exported(paths[-1], facts["found"][-1], runner), facts

    def judge_subject(self, got, want, ctx):
        if not got["found"]:
            return Fail(
                f"No file matching '{self.pattern}' was written.", expected=f"a file {self.pattern}", got="no such file"
            )
        if "load_error" in got:
            name, err = got["found"][-1], got["load_error"]
            how = "ONNX Runtime" if name.endswith(".onnx") else "torch.export.load"
            return Fail(f"'{name}' does not load with {how}: {err['type']}: {err['message']}")
        return None

    def reproduces(
        self,
        model: str,
        batches: tuple[int, ...] = (1, 5),
        atol: float = 1e-4,
        msg: str | None = None,
        batch_msg: str | None = None,
        other_msg: str | None = None,
    ) -> "_ExportedFile":
        """Loaded as production loads it, the file gives ``model``'s eval-mode outputs on
        real CIFAR-10 test images at every batch size in ``batches`` (``batch_msg`` speaks
        to a batch size that fails, ``msg`` to outputs that differ; ``other_msg``, when
        given, to outputs that differ though the same images give the same outputs twice,
        so no dropout was traced in: the file holds another model's weights)."""
        return self.add(_Reproduces(model, batches, atol, msg, batch_msg, other_msg))

    def ops(self, has: tuple[str, ...] = (), lacks: tuple[str, ...] = (), msg: str | None = None) -> "_ExportedFile":
        """The ONNX graph holds no node of an operator in ``lacks`` and one of each in ``has``:
        ``ops(has=("MatMulInteger",), lacks=("ConvInteger",))`` says what dynamic quantization
        really quantized. Give one ``ops`` per mistake, each with the message that explains it."""
        return self.add(_Ops(has, lacks, msg))


def exported_file(pattern: str) -> _ExportedFile:
    """Check an exported model file (a glob, relative to the run's folder): ``.pt2`` from
    ``torch.export.save`` or ``.onnx`` from ``torch.onnx.export``:
    ``exported_file("model.onnx").reproduces("model", batches=(1, 5))``."""
    return _ExportedFile(pattern)


class _OneThread(SubCheck):
    def __init__(self, name, msg):
        self.name, self.msg = name, msg

    def probe(self, run, session):
        options = session.get_session_options()
        try:
            spinning = options.get_session_config_entry("session.intra_op.allow_spinning")
        except Exception:  # not set: ORT's default, which spins
            spinning = "1 (the default)"
        return {"threads": options.intra_op_num_threads, "spinning": spinning}

    def judge(self, got, want, ctx):
        if got["threads"] != 1 or got["spinning"] != "0":
            if got["threads"] == 0 and got["spinning"] != "0":
                why = (
                    f"`{self.name}` uses ONNX Runtime's default threads, which spin while idle and slow down "
                    "PyTorch in the same process."
                )
            elif got["threads"] not in (0, 1):
                why = (
                    f"`{self.name}` runs each operator on {got['threads']} threads: intra_op_num_threads is the number "
                    "of threads one operator is split over, and one leaves the other cores to PyTorch."
                )
            elif got["threads"] == 0:
                why = (
                    f"`{self.name}` keeps ONNX Runtime's default of one intra-op thread per core (0): "
                    "intra_op_num_threads splits each operator, and inter_op_num_threads, for parallel branches of "
                    "the graph, does not limit it."
                )
            else:
                why = (
                    f"`{self.name}`'s intra-op threads still spin while idle, ONNX Runtime's default, and take CPU "
                    "from PyTorch in the same process: the config entry session.intra_op.allow_spinning takes the "
                    'string "0" (inter_op spinning is another entry, for another pool).'
                )
            return Fail(
                f"{why} Create it with SessionOptions that set "
                'intra_op_num_threads = 1 and the config entry session.intra_op.allow_spinning = "0".',
                expected="intra_op_num_threads=1, allow_spinning='0'",
                got=f"intra_op_num_threads={got['threads']}, allow_spinning={got['spinning']!r}",
            )
        return None


class _Opens(SubCheck):
    def __init__(self, name, file, msg):
        self.name, self.file, self.msg = name, file, msg

    def probe(self, run, session):
        path = getattr(session, "_model_path", None)
        return os.path.basename(path) if isinstance(path, str) else None

    def judge(self, got, want, ctx):
        if got is not None and got != self.file:
            return Fail(
                f"`{self.name}` runs {got}, not {self.file}: open the session on {self.file}.",
                expected=self.file,
                got=got,
            )
        return None


class _OrtSession(Family):
    def find(self, run):
        import onnxruntime as ort

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return None, missing
        facts = {"exists": True, "types": class_names(obj), "is_session": isinstance(obj, ort.InferenceSession)}
        return (obj if facts["is_session"] else None), facts

    def judge_subject(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.name, got)
        if not got["is_session"]:
            return fail_with(
                None,
                Fail(
                    f"`{self.name}` should be an onnxruntime.InferenceSession.",
                    expected="InferenceSession",
                    got=got["types"][0].split(".")[-1],
                ),
                ctx,
                self.name,
            )
        return None

    def opens(self, file: str, msg: str | None = None) -> "_OrtSession":
        """The session runs the model in ``file`` (its base name): a session opened on the float
        model, say, while the exercise measures the quantized one."""
        return self.add(_Opens(self.name, file, msg))


def ort_session(name: str = "session", msg: str | None = None) -> _OrtSession:
    """An ``onnxruntime.InferenceSession`` created to share the CPU with PyTorch: one
    intra-op thread and spinning turned off (``msg`` speaks to that); ``.opens(file)``: on
    the model file the exercise asks for."""
    return _OrtSession(name).add(_OneThread(name, msg))
