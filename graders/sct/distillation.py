"""The usual slips in a distillation loss, each named: ``distillation_mistakes``.

The learner's loss is called on fixed logits, and its value is compared with what each
known slip gives on the same logits: the temperature factor left out, applied once or as
``T * 2``; ``reduction="sum"`` or ``"mean"``; probabilities where ``F.kl_div`` wants
log-probabilities; one side not softened; the arguments swapped. A value that matches
none passes this check, and ``distillation_loss`` (which compares it with the solution's)
says what it can. Put this check first, so that a known slip hears its own explanation.
"""

from __future__ import annotations

from graders.sct.api import Check, Fail

_SLIPS = {
    "no_t2": "The loss is missing the T * T factor: multiply the KL divergence by T * T. Dividing the logits by T "
    "shrinks the gradients by T squared, and T * T restores their size.",
    "t_once": "The KL divergence is multiplied by T once; the factor is T * T. Dividing the logits by T shrinks the "
    "gradients by T squared, so it takes T squared to restore their size.",
    "t_times_2": "T * 2 is twice the temperature, not its square: multiply the KL divergence by T * T (or T ** 2).",
    "sum": 'reduction="sum" adds up the divergence of every image, so the loss grows with the batch size and '
    'outweighs the cross-entropy next to it: use reduction="batchmean", the average per image.',
    "mean": 'reduction="mean" averages over every element, images times classes, so it also divides by the '
    'number of classes: use reduction="batchmean", the KL divergence per image.',
    "probs_first": "F.kl_div takes the student's log-probabilities first: use F.log_softmax(student_logits / T, "
    "dim=1), not softmax.",
    "teacher_log": "The teacher's side is log-probabilities: F.kl_div takes the teacher's probabilities as its "
    "second argument, F.softmax(teacher_logits / T, dim=1) (or log_target=True with log-probabilities).",
    "teacher_hard": "The teacher's logits are not softened: divide them by T too, so that its small probabilities, "
    "which say which classes look alike, carry weight.",
    "student_hard": "The student's logits are not softened: divide them by T too, so that both distributions are "
    "compared at the same temperature.",
    "swapped": "The arguments of F.kl_div are swapped: the student's log-probabilities come first and the "
    "teacher's probabilities second; KL divergence is not symmetric.",
}


class _DistillationMistakes(Check):
    def __init__(self, name: str, temperature: float, classes: int):
        self.name, self.temperature, self.classes = name, temperature, classes

    def probe(self, run):
        import torch
        import torch.nn.functional as F

        fn = run.ns.get(self.name)
        if not callable(fn):
            return None
        generator = torch.Generator().manual_seed(1)
        s = torch.randn(16, self.classes, generator=generator) * 3
        t = torch.randn(16, self.classes, generator=generator) * 3
        T = self.temperature
        try:
            value = fn(s.clone(), t.clone())
            value = float(value) if isinstance(value, torch.Tensor) and value.numel() == 1 else None
        except Exception:
            return None  # distillation_loss reports the error
        ls, pt = F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1)
        kl = F.kl_div(ls, pt, reduction="batchmean")
        slips = {
            "right": kl * T * T,
            "no_t2": kl,
            "t_once": kl * T,
            "t_times_2": kl * T * 2,
            "sum": F.kl_div(ls, pt, reduction="sum") * T * T,
            "mean": F.kl_div(ls, pt, reduction="mean") * T * T,
            "probs_first": F.kl_div(F.softmax(s / T, dim=1), pt, reduction="batchmean") * T * T,
            "teacher_log": F.kl_div(ls, F.log_softmax(t / T, dim=1), reduction="batchmean") * T * T,
            "teacher_hard": F.kl_div(ls, F.softmax(t, dim=1), reduction="batchmean") * T * T,
            "student_hard": F.kl_div(F.log_softmax(s, dim=1), pt, reduction="batchmean") * T * T,
            "swapped": F.kl_div(F.log_softmax(t / T, dim=1), F.softmax(s / T, dim=1), reduction="batchmean") * T * T,
        }
        return {"value": value, "slips": {k: float(v) for k, v in slips.items()}}

    def judge(self, got, want, ctx):
        if not got or got["value"] is None:
            return None
        value = got["value"]
        close = [k for k, v in got["slips"].items() if abs(value - v) <= 1e-4 * max(1.0, abs(v))]
        if not close or "right" in close:
            return None
        return Fail(_SLIPS[close[0]], expected=f"{got['slips']['right']:.4f}", got=f"{value:.4f}")


def distillation_mistakes(name: str = "distillation_loss", temperature: float = 4.0, classes: int = 10) -> Check:
    """Name the known slip that ``name(student_logits, teacher_logits)`` makes, if its value is one."""
    return _DistillationMistakes(name, temperature, classes)
