"""What the learner's code really did, recorded while it ran: ``loaded_file`` (a file read
with ``torch.load``, and how), ``predicted`` (a model's forward passes: with or without
gradients, in which mode, on how many and which images), ``built_anew`` (an object made by
the code, not the one the set-up gave), ``built_in_code`` (constructed, not copied) and
``ort_ran`` (an ONNX Runtime session that really ran, on how many rows).

Each check's ``before`` installs a recorder ahead of the set-up; it keeps only what
happens while the learner's code runs (``run.phase == "code"``), so neither the set-up
nor the grader's own probes count. A setting or a result can be typed in; a call that
never happened cannot be recorded.
"""

from __future__ import annotations

import os

from graders.sct.api import Check, Fail, fail_with, lookup, missing_fail

_KEY = "observed"
_CAP = 200  # entries kept per kind: learner loops must not grow the record without bound


def _records(run, kind: str) -> dict:
    """The shared record, with the recorder of ``kind`` installed once per run (only the ones
    a check needs: a global forward hook costs something in every module call)."""
    rec = run.records.setdefault(_KEY, {"loads": [], "forwards": {}, "ort_runs": [], "installed": set()})
    if kind not in rec["installed"]:
        rec["installed"].add(kind)
        recorders = {"loads": _record_loads, "forwards": _record_forwards, "ort_runs": _record_ort_runs}
        recorders["constructed"] = _record_constructed
        recorders[kind](run, rec)
    return rec


def _record_loads(run, rec: dict) -> None:
    import torch
    import torch.serialization

    original = torch.serialization.load

    def load(f, *args, **kwargs):
        if run.phase == "code" and len(rec["loads"]) < _CAP:
            name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", None) or getattr(f, "path", None)
            path = os.path.realpath(os.fspath(name)) if isinstance(name, (str, os.PathLike)) else None
            weights_only = kwargs.get("weights_only", args[2] if len(args) > 2 else None)
            rec["loads"].append({"path": path, "weights_only": weights_only})
        return original(f, *args, **kwargs)

    load.__wrapped__ = original
    torch.load = torch.serialization.load = load


def _record_forwards(run, rec: dict) -> None:
    import torch
    from torch.nn.modules.module import register_module_forward_hook

    def hook(module, args, output):
        if run.phase != "code":
            return
        first = next((a for a in args if isinstance(a, torch.Tensor)), None)
        rows = first.shape[0] if first is not None and first.dim() else None
        if rows is not None and type(rows) is not int:
            return  # a symbolic size while torch.export traces: reading it would fix the batch size
        calls = rec["forwards"].setdefault(id(module), [])
        if len(calls) < _CAP:
            calls.append(
                {
                    "grad": torch.is_grad_enabled() and not torch.is_inference_mode_enabled(),
                    "rows": rows,
                    "training": bool(module.training),
                    "images": _fingerprints(first),
                }
            )

    def _fingerprints(x) -> list[float] | None:
        """One number per image of a batch of images (the sum of its pixels), so that which
        images a model saw can be compared whatever the batches were; None for other inputs."""
        if x is None or x.dim() != 4 or x.shape[1] != 3 or not x.is_floating_point():
            return None
        with torch.no_grad():
            return [round(v, 3) for v in x.detach().double().flatten(1).sum(1).tolist()]

    register_module_forward_hook(hook)


def _record_ort_runs(run, rec: dict) -> None:
    try:
        import onnxruntime as ort
    except ImportError:  # the exercises that need it import it; others never run a session
        return
    original = ort.InferenceSession.run

    def session_run(self, output_names, input_feed, *args, **kwargs):
        result = original(self, output_names, input_feed, *args, **kwargs)
        if run.phase == "code" and len(rec["ort_runs"]) < _CAP:
            rows = [int(getattr(v, "shape", (0,))[0]) for v in (input_feed or {}).values() if getattr(v, "shape", None)]
            rec["ort_runs"].append({"session": id(self), "rows": rows[0] if rows else None})
        return result

    ort.InferenceSession.run = session_run


class _LoadedFile(Check):
    def __init__(self, path: str, weights_only: bool, msgs: dict):
        self.path, self.weights_only, self.msgs = path, weights_only, msgs

    def before(self, run):
        _records(run, "loads")

    def probe(self, run):
        want = os.path.realpath(os.path.join(run.workdir, self.path))
        loads = [entry for entry in run.records[_KEY]["loads"] if entry["path"] == want]
        return {"loads": [{"weights_only": entry["weights_only"]} for entry in loads]}

    def judge(self, got, want, ctx):
        if not got["loads"]:
            return fail_with(
                self.msgs.get("unread"),
                Fail(
                    f"Your code never read '{self.path}' with torch.load: the weights must come from the saved file, "
                    "as they would in a new process, not from the objects still in memory."
                ),
            )
        if self.weights_only and any(entry["weights_only"] is False for entry in got["loads"]):
            return fail_with(
                self.msgs.get("unsafe"),
                Fail(
                    f"Your code loads '{self.path}' with weights_only=False, which unpickles whatever the file holds and "
                    "can run code from it. A state dict is plain tensors: load it with weights_only=True (the default), "
                    "which refuses anything else.",
                    line=ctx.keyword_line("weights_only"),
                ),
            )
        return None


def loaded_file(
    path: str, weights_only: bool = True, *, unread_msg: str | None = None, unsafe_msg: str | None = None
) -> Check:
    """The learner's code read ``path`` (relative to the run's folder) with ``torch.load``,
    and, with ``weights_only=True``, never passed ``weights_only=False`` for it."""
    return _LoadedFile(path, weights_only, {"unread": unread_msg, "unsafe": unsafe_msg})


class _Predicted(Check):
    def __init__(self, name: str, rows: int | None, grad: bool | None, msgs: dict, eval_mode, images):
        self.name, self.rows, self.grad, self.msgs = name, rows, grad, msgs
        self.eval_mode, self.images = eval_mode, images

    def before(self, run):
        _records(run, "forwards")

    def probe(self, run):
        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        calls = run.records[_KEY]["forwards"].get(id(obj), [])
        images = sorted({v for call in calls for v in call["images"] or ()})
        return {
            "exists": True,
            "calls": [{k: call[k] for k in ("grad", "rows", "training")} for call in calls],
            "images": images[:5000],
        }

    def judge(self, got, want, ctx):
        if not got.get("exists"):
            return missing_fail(self.name, got)
        calls = got["calls"]
        if not calls:
            return fail_with(
                self.msgs.get("never"),
                Fail(f"Your code never called `{self.name}` on the images: its predictions must come from that model."),
                ctx,
                self.name,
            )
        if self.grad is False and all(call["grad"] for call in calls):
            return fail_with(
                self.msgs.get("grad"),
                Fail(
                    f"`{self.name}` predicted while autograd recorded every operation for a backward pass that never "
                    "comes: that costs memory and time. Predict inside `with torch.inference_mode():` (or "
                    "torch.no_grad()).",
                    expected="a forward pass without gradients",
                    got="gradients tracked",
                ),
            )
        if self.eval_mode and any(call["training"] for call in calls):
            return fail_with(
                self.msgs.get("training"),
                Fail(
                    f"`{self.name}` predicted while in training mode: dropout zeroed activations at random and batch "
                    "norm used each batch's own statistics. Switch it to evaluation mode before it predicts, not after.",
                    expected="predictions in evaluation mode",
                    got="predictions in training mode",
                ),
            )
        if self.images and want and want.get("images"):
            fail = self._judge_images(set(got["images"]), set(want["images"]))
            if fail:
                return fail
        if self.rows is not None and not any(call["rows"] == self.rows for call in calls):
            sizes = sorted({call["rows"] for call in calls if call["rows"] is not None})
            return fail_with(
                self.msgs.get("rows"),
                Fail(
                    f"`{self.name}` never ran on all {self.rows} images at once: pass the whole batch.",
                    expected=f"a batch of {self.rows}",
                    got="batches of " + ", ".join(map(str, sizes)) if sizes else "none",
                ),
            )
        return None

    def _judge_images(self, got: set, want: set) -> Fail | None:
        missing, extra = want - got, got - want
        if extra and self.images in ("only", "same"):
            return fail_with(
                self.msgs.get("other_images"),
                Fail(
                    f"`{self.name}` also ran on {len(extra)} images that are not the ones the exercise names: "
                    "predict on the data the text asks for, no other split.",
                    expected=f"the {len(want)} images",
                    got=f"{len(extra)} other images",
                ),
            )
        if missing and self.images in ("all", "same"):
            return fail_with(
                self.msgs.get("part"),
                Fail(
                    f"`{self.name}` predicted on {len(want) - len(missing)} of the {len(want)} images: every one of "
                    "them counts, not only the first batches.",
                    expected=f"{len(want)} images",
                    got=f"{len(want) - len(missing)} images",
                ),
            )
        return None


def predicted(
    name: str,
    rows: int | None = None,
    grad: bool | None = None,
    *,
    eval_mode: bool = False,
    images: str | None = None,
    never_msg: str | None = None,
    grad_msg: str | None = None,
    rows_msg: str | None = None,
    training_msg: str | None = None,
    part_msg: str | None = None,
    other_images_msg: str | None = None,
) -> Check:
    """The model ``name`` (as bound after the code ran) ran forward in the learner's code:
    with ``grad=False``, at least one pass without gradients (inference mode or no_grad);
    with ``eval_mode``, never in training mode; with ``images``, on the images (of 3-channel
    batches) the solution's model ran on, however they were batched: ``"only"`` no others
    (another split), ``"all"`` every one of them (not part of the data), ``"same"`` both;
    with ``rows``, at least one pass on a batch of that many rows."""
    msgs = {"never": never_msg, "grad": grad_msg, "rows": rows_msg, "training": training_msg}
    msgs.update({"part": part_msg, "other_images": other_images_msg})
    if images not in (None, "only", "all", "same"):
        raise ValueError(f"images={images!r}: use 'only', 'all' or 'same'")
    return _Predicted(name, rows, grad, msgs, eval_mode, images)


class _BuiltAnew(Check):
    def __init__(self, name: str, given: str, msg: str | None):
        self.name, self.given, self.msg = name, given, msg

    def probe(self, run):
        import torch

        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        given = run.ns.get(self.given)
        same = obj is given
        if not same and isinstance(obj, torch.nn.Module) and isinstance(given, torch.nn.Module):
            theirs = {p.data_ptr() for p in given.parameters()}
            same = any(p.data_ptr() in theirs for p in obj.parameters())
        return {"exists": True, "same": same}

    def judge(self, got, want, ctx):
        if not got.get("exists"):
            return missing_fail(self.name, got)
        if got["same"]:
            return fail_with(
                self.msg,
                Fail(
                    f"`{self.name}` is `{self.given}` itself (or shares its weights), not a new model: nothing shows that "
                    "the saved file can rebuild it. Build a new one in code and load the saved weights into it."
                ),
                ctx,
                self.name,
            )
        return None


def built_anew(name: str, given: str, msg: str | None = None) -> Check:
    """``name`` is a new object, not ``given`` (nor a module sharing its parameters)."""
    return _BuiltAnew(name, given, msg)


def _record_constructed(run, rec: dict) -> None:
    """Modules whose __init__ ran in the learner's code: built in code, not copied or unpickled."""
    import weakref

    import torch

    built = rec["constructed"] = {}  # id -> weak reference: a WeakSet would hash modules that are half built
    original = torch.nn.Module.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if run.phase == "code":
            built[id(self)] = weakref.ref(self)

    init.__wrapped__ = original
    torch.nn.Module.__init__ = init


class _BuiltInCode(Check):
    def __init__(self, name: str, msg: str | None):
        self.name, self.msg = name, msg

    def before(self, run):
        _records(run, "constructed")

    def probe(self, run):
        obj, missing = lookup(run.ns, self.name)
        if missing:
            return missing
        ref = run.records[_KEY]["constructed"].get(id(obj))
        return {"exists": True, "constructed": ref is not None and ref() is obj}

    def judge(self, got, want, ctx):
        if not got.get("exists"):
            return missing_fail(self.name, got)
        if not got["constructed"]:
            return fail_with(
                self.msg,
                Fail(
                    f"`{self.name}` was never built in your code: it is a copy of a model that already held the "
                    "weights (copy.deepcopy, or an unpickled model), so nothing shows that the saved file can "
                    "rebuild it. Build a new one from its class and load the saved weights into it."
                ),
                ctx,
                self.name,
            )
        return None


def built_in_code(name: str, msg: str | None = None) -> Check:
    """The module ``name`` was constructed in the learner's code (its ``__init__`` ran there),
    not deep-copied or unpickled from a model that already held the weights."""
    return _BuiltInCode(name, msg)


class _OrtRan(Check):
    def __init__(self, session: str, rows: int | None, msgs: dict):
        self.session, self.rows, self.msgs = session, rows, msgs

    def before(self, run):
        _records(run, "ort_runs")

    def probe(self, run):
        obj, missing = lookup(run.ns, self.session)
        if missing:
            return missing
        runs = [r for r in run.records[_KEY]["ort_runs"] if r["session"] == id(obj)]
        return {"exists": True, "rows": [r["rows"] for r in runs]}

    def judge(self, got, want, ctx):
        if not got.get("exists"):
            return missing_fail(self.session, got)
        if not got["rows"]:
            return fail_with(
                self.msgs.get("never"),
                Fail(
                    f"`{self.session}` never ran: the outputs must come from ONNX Runtime, session.run(None, "
                    "{...}), not from the PyTorch model. Only a run of the session shows that the file works."
                ),
            )
        if self.rows is not None and self.rows not in got["rows"]:
            return fail_with(
                self.msgs.get("rows"),
                Fail(
                    f"`{self.session}` never ran on all {self.rows} images at once: pass the whole batch as one array.",
                    expected=f"a batch of {self.rows}",
                    got="batches of " + ", ".join(str(r) for r in got["rows"]),
                ),
            )
        return None


def ort_ran(
    session: str = "session", rows: int | None = None, *, never_msg: str | None = None, rows_msg: str | None = None
) -> Check:
    """The ONNX Runtime session ``session`` ran in the learner's code (on a batch of
    ``rows``, when given): outputs computed with PyTorch, or from part of the batch, fail."""
    return _OrtRan(session, rows, {"never": never_msg, "rows": rows_msg})
