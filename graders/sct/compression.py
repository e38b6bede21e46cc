"""A compressed model, measured: ``compressed`` and ``distillation_loss``.

``compressed(file, model=..., original=..., baseline=...)`` looks at what compression
produced: the file on disk against the original model's file (``size``), the predictions
of the compressed model (an ``nn.Module`` or any function from a batch to logits, e.g. an
ONNX Runtime session wrapped in a function) against the original's on real CIFAR-10 test
images (``agreement``), the zeros in its weights (``sparsity``), what the saved state dict
holds (``no_pruning_leftovers``, ``stored_as``) and that the original was left as it was
(``original_unchanged``), and that no gradient reached it (``original_without_gradients``)::

    compressed("int8.pt", model="int8_model").size(at_most=0.6).agreement(at_least=0.97)
    compressed("pruned.pt", model="pruned").no_pruning_leftovers().sparsity(SOLUTION)

``distillation_loss(name)`` calls the learner's distillation loss on fixed logits and
compares it with the solution's; the usual slips (no ``T * T`` factor, ``reduction="mean"``)
change it by a known ratio, and are named.
"""

from __future__ import annotations

import copy
import os

from graders.sct.api import SOLUTION, Check, Fail, Family, SubCheck, cifar_batch, learner_error, lookup, resolve

_WEIGHTED = ("Conv2d", "Linear")


class _Subject:
    """What ``compressed`` found in the sandbox: the file's facts, the learner's compressed
    model (a module or a function) and the original."""

    def __init__(self, run, facts: dict, model, original, baseline: str):
        self.run, self.facts, self.model, self.original = run, facts, model, original
        self.baseline = os.path.join(run.workdir, baseline)


class _Size(SubCheck):
    def __init__(self, file, baseline, at_most, msg):
        self.file, self.baseline, self.at_most, self.msg = file, baseline, at_most, msg

    def probe(self, run, subject):
        return {"size": subject.facts.get("size"), "base_size": subject.facts["base_size"]}

    def judge(self, got, want, ctx):
        if not got["base_size"]:
            return None
        ratio = got["size"] / got["base_size"]
        if ratio > self.at_most:
            return Fail(
                f"{self.file} is {got['size'] / 1024:.0f} kB, {ratio:.0%} of the original's "
                f"{got['base_size'] / 1024:.0f} kB: compression should leave at most {self.at_most:.0%}. "
                "Did you save the compressed model, or the original?",
                expected=f"at most {self.at_most:.0%} of {self.baseline}",
                got=f"{ratio:.0%}",
            )
        return None


class _Agreement(SubCheck):
    def __init__(self, model, original, n, at_least, tolerance, msg):
        self.model, self.original, self.n = model, original, n
        self.at_least, self.tolerance, self.msg = at_least, tolerance, msg

    def probe(self, run, subject):
        import torch

        from course.core.compression import as_logits

        original, model = subject.original, subject.model
        if original is None or model is None:
            return {}
        x, _ = cifar_batch(self.n)
        with torch.no_grad():
            try:
                reference = as_logits(
                    copy.deepcopy(original).eval()(x) if isinstance(original, torch.nn.Module) else original(x)
                ).argmax(1)
            except Exception as err:  # the original was changed; original_unchanged says how
                return {"reference_error": learner_error(err)}
            if isinstance(model, torch.nn.Module):
                model = model.eval()
            try:
                return {"agreement": (as_logits(model(x)).argmax(1) == reference).float().mean().item()}
            except Exception as err:
                return {"predict_error": learner_error(err)}

    def judge(self, got, want, ctx):
        if got.get("predict_error"):
            err = got["predict_error"]
            return Fail(
                f"Calling `{self.model}` on a batch of CIFAR-10 images raised {err['type']}: {err['message']}",
                line=err.get("line"),
            )
        if got.get("reference_error"):
            err = got["reference_error"]
            return Fail(
                f"Calling the original `{self.original}` raised {err['type']}: {err['message']}. Was it "
                "changed? Compress a copy and leave the original as it was."
            )
        if "agreement" not in got:
            return None
        floor = resolve(self.at_least, (want or {}).get("agreement"))
        floor = None if floor is None else floor - self.tolerance
        if floor is not None and got["agreement"] < floor - 1e-9:
            return Fail(
                f"`{self.model}` agrees with the original model on {got['agreement']:.1%} of {self.n} "
                f"CIFAR-10 test images; it should agree on at least {floor:.1%}.",
                expected=f"at least {floor:.1%}",
                got=f"{got['agreement']:.1%}",
            )
        return None


class _Sparsity(SubCheck):
    def __init__(self, model, value, tolerance, msg):
        self.model, self.value, self.tolerance, self.msg = model, value, tolerance, msg

    def probe(self, run, subject):
        import torch

        if not isinstance(subject.model, torch.nn.Module):
            return None
        weights = [m.weight.detach() for m in subject.model.modules() if type(m).__name__ in _WEIGHTED]
        total = sum(w.numel() for w in weights)
        return sum((w == 0).sum().item() for w in weights) / total if total else None

    def judge(self, got, want, ctx):
        value = resolve(self.value, want)
        if got is not None and value is not None and abs(got - value) > self.tolerance:
            return Fail(
                f"{got:.1%} of the weights of `{self.model}` are zero; pruning should leave {value:.0%} zeros.",
                expected=f"{value:.0%} of the weights zero",
                got=f"{got:.1%} of the weights zero",
            )
        return None


class _NoLeftovers(SubCheck):
    def __init__(self, msg):
        self.msg = msg

    def probe(self, run, subject):
        return subject.facts.get("keys", [])

    def judge(self, got, want, ctx):
        extra = [k for k in got if k.endswith(("_orig", "_mask"))]
        if extra:
            return Fail(
                f"The saved state dict still holds pruning's {extra[0]} and its mask, so the file is twice "
                'the size: call prune.remove(module, "weight") on each pruned layer before saving, which '
                "makes the pruning permanent.",
                expected="weight",
                got=", ".join(extra[:2]),
            )
        return None


class _StoredAs(SubCheck):
    def __init__(self, file, dtype, msg):
        self.file, self.dtype, self.msg = file, dtype, msg

    def probe(self, run, subject):
        return subject.facts.get("dtypes")

    def judge(self, got, want, ctx):
        if got and got != [self.dtype]:
            return Fail(
                f"The weights in {self.file} are stored as {', '.join(got)}; they should be {self.dtype}.",
                expected=self.dtype,
                got=", ".join(got),
            )
        return None


class _OriginalUnchanged(SubCheck):
    def __init__(self, original, baseline, msg):
        self.original, self.baseline, self.msg = original, baseline, msg

    def probe(self, run, subject):
        import torch

        if subject.original is None or not os.path.exists(subject.baseline):
            return None
        saved, now = torch.load(subject.baseline, weights_only=True), subject.original.state_dict()
        return set(saved) == set(now) and all(
            type(now[k]) is torch.Tensor and now[k].dtype == v.dtype and torch.equal(now[k], v)
            for k, v in saved.items()
        )

    def judge(self, got, want, ctx):
        if got is False:
            return Fail(
                f"`{self.original}` was changed: compress a copy (copy.deepcopy({self.original})), so the "
                "original stays the reference every variant is compared with.",
                expected=f"{self.original} as in {self.baseline}",
                got="changed weights",
            )
        return None


class _OriginalWithoutGradients(SubCheck):
    def __init__(self, original, msg):
        self.original, self.msg = original, msg

    def probe(self, run, subject):
        parameters = getattr(subject.original, "parameters", None)
        return [n for n, p in subject.original.named_parameters() if p.grad is not None][:3] if parameters else []

    def judge(self, got, want, ctx):
        if got:
            return Fail(
                f"The parameters of `{self.original}` got gradients ({', '.join(got)}): its outputs were "
                "computed with a graph, and backward went through it. Compute them inside torch.no_grad(), "
                "so only the model being trained learns.",
                expected="no gradients",
                got="gradients",
            )
        return None


class _Compressed(Family):
    def __init__(self, file: str, model: str | None, original: str, baseline: str, n: int):
        super().__init__(None)  # files and runs: failures point at no line
        self.file, self.model, self.original, self.baseline, self.n = file, model, original, baseline, n

    def find(self, run):
        import torch

        path, base = os.path.join(run.workdir, self.file or ""), os.path.join(run.workdir, self.baseline)
        facts: dict = {
            "exists": self.file is not None and os.path.exists(path),
            "base_size": os.path.getsize(base) if os.path.exists(base) else None,
        }
        if facts["exists"]:
            facts["size"] = os.path.getsize(path)
            if not self.file.endswith(".onnx"):
                try:
                    state = torch.load(path, weights_only=False, map_location="cpu")
                    if isinstance(state, dict):
                        facts["keys"] = [str(k) for k in state][:200]
                        facts["dtypes"] = sorted(
                            {
                                str(v.dtype).replace("torch.", "")
                                for v in state.values()
                                if isinstance(v, torch.Tensor) and v.is_floating_point()
                            }
                        )
                except Exception as err:
                    facts["load_error"] = f"{type(err).__name__}: {err}"
        original, _ = lookup(run.ns, self.original)
        model = None
        if self.model is not None:
            model, missing = lookup(run.ns, self.model)
            facts["model_missing"] = bool(missing)
        if (self.file is not None and not facts["exists"]) or facts.get("load_error") or facts.get("model_missing"):
            return None, facts
        return _Subject(run, facts, model, original, self.baseline), facts

    def judge_subject(self, got, want, ctx):
        if self.file is not None and not got["exists"]:
            return Fail(
                f"No file {self.file} was written: save the compressed model to it, so its size on disk "
                "can be measured.",
                expected=self.file,
                got="no such file",
            )
        if got.get("load_error"):
            return Fail(f"{self.file} does not load with torch.load: {got['load_error']}")
        if got.get("model_missing"):
            return Fail(f"Your code does not define `{self.model}`.")
        return None

    def size(self, at_most: float, msg: str | None = None) -> "_Compressed":
        """The file is at most ``at_most`` times the size of the baseline file."""
        return self.add(_Size(self.file, self.baseline, at_most, msg))

    def agreement(self, at_least=SOLUTION, tolerance: float = 0.0, msg: str | None = None) -> "_Compressed":
        """The compressed model predicts the original's class for at least this share of
        ``n`` CIFAR-10 test images (default: the solution's share, less ``tolerance``)."""
        return self.add(_Agreement(self.model, self.original, self.n, at_least, tolerance, msg))

    def sparsity(self, value=SOLUTION, tolerance: float = 0.01, msg: str | None = None) -> "_Compressed":
        """The share of zeros among the conv and linear weights of ``model``."""
        return self.add(_Sparsity(self.model, value, tolerance, msg))

    def no_pruning_leftovers(self, msg: str | None = None) -> "_Compressed":
        """The saved state dict has plain weights, not pruning's ``weight_orig`` and ``weight_mask``."""
        return self.add(_NoLeftovers(msg))

    def stored_as(self, dtype: str, msg: str | None = None) -> "_Compressed":
        """Every floating-point weight in the saved state dict has ``dtype``."""
        return self.add(_StoredAs(self.file, dtype, msg))

    def original_unchanged(self, msg: str | None = None) -> "_Compressed":
        """``original`` still has the weights (and dtypes) of the baseline file."""
        return self.add(_OriginalUnchanged(self.original, self.baseline, msg))

    def original_without_gradients(self, msg: str | None = None) -> "_Compressed":
        """No parameter of ``original`` holds a gradient: a teacher (or any reference model)
        whose outputs were computed outside ``torch.no_grad()`` has backward run through it."""
        return self.add(_OriginalWithoutGradients(self.original, msg))


def compressed(
    file: str | None, *, model: str | None = None, original: str = "model", baseline: str = "model.pt", n: int = 256
) -> _Compressed:
    """Check a compressed model: the file it was saved to (None: no file), and (with
    ``model``) its predictions against ``original``'s on ``n`` CIFAR-10 test images."""
    return _Compressed(file, model, original, baseline, n)


class _DistillationLoss(Check):
    def __init__(self, name: str, temperature: float, classes: int):
        self.name, self.temperature, self.classes = name, temperature, classes

    def probe(self, run):
        import torch

        fn = run.ns.get(self.name)
        if not callable(fn):
            return {"exists": False}
        generator = torch.Generator().manual_seed(0)
        student = torch.randn(16, self.classes, generator=generator) * 3
        teacher = torch.randn(16, self.classes, generator=generator) * 3
        try:
            value = fn(student, teacher)
        except Exception as err:
            from graders.sct.api import learner_error

            return {"exists": True, "error": learner_error(err)}
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            return {"exists": True, "value": None, "type": type(value).__name__}
        return {"exists": True, "value": float(value)}

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return Fail(f"Your code does not define the function `{self.name}`.")
        if got.get("error"):
            err = got["error"]
            return Fail(
                f"Calling {self.name}(student_logits, teacher_logits) raised {err['type']}: {err['message']}",
                line=err.get("line"),
            )
        if got["value"] is None:
            return Fail(
                f"{self.name} should return the loss as a tensor holding one number; it returned a {got.get('type')}."
            )
        g, w = got["value"], want["value"]
        if abs(g - w) <= 1e-4 * max(1.0, abs(w)):
            return None
        t2, c = self.temperature**2, self.classes
        ratio = g / w if w else float("nan")
        if abs(ratio - 1 / t2) < 1e-3:
            return Fail(
                f"The loss is {t2:g} times too small: multiply the KL divergence by T * T. Dividing the "
                "logits by T shrinks the gradients by T squared, and T * T restores their size.",
                expected=f"{w:.4f}",
                got=f"{g:.4f}",
            )
        if abs(ratio - 1 / c) < 1e-3 or abs(ratio - 1 / (c * t2)) < 1e-3:
            return Fail(
                "The loss is averaged over every element instead of every image: use "
                'reduction="batchmean", the KL divergence\'s true value; "mean" also divides by '
                f"the {c} classes.",
                expected=f"{w:.4f}",
                got=f"{g:.4f}",
            )
        return Fail(
            f"{self.name} gives {g:.4f} where the temperature-scaled KL divergence is {w:.4f}: "
            "F.kl_div takes the student's log-probabilities first (log_softmax of its logits / T) and "
            "the teacher's probabilities second (softmax of its logits / T).",
            expected=f"{w:.4f}",
            got=f"{g:.4f}",
        )


def distillation_loss(name: str = "distillation_loss", temperature: float = 4.0, classes: int = 10) -> Check:
    """Check a distillation loss ``name(student_logits, teacher_logits)`` against the solution's."""
    return _DistillationLoss(name, temperature, classes)
