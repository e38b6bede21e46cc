"""``optimizer_steps()``: the optimizer steps a plain PyTorch loop really took, from the
recorder (``recorder``) that ``before`` installs."""

from __future__ import annotations

from graders.sct import recorder
from graders.sct.api import SOLUTION, Check, Fail, fail_with, resolve
from graders.sct.ran import plural


class _OptimizerSteps(Check):
    def __init__(self, count, msg):
        self.count, self.msg = count, msg

    def before(self, run):
        recorder.install(run)

    def probe(self, run):
        steps = run.records[recorder.KEY].steps
        # plain strings: this probe may sit inside another check's (correct), and the wire
        # format keeps only a few levels of nesting
        return {
            "count": len(steps),
            "kinds": sorted({f"{kind}(lr={lrs[0] if lrs else None})" for kind, lrs, _ in steps}),
        }

    def judge(self, got, want, ctx):
        count = resolve(self.count, want and want["count"])
        wkinds = want and want["kinds"]
        if got["count"] and wkinds and got["kinds"] != wkinds:
            fail = Fail(
                f"Your code steps the optimizer {', '.join(got['kinds'])}; the exercise's run steps "
                f"{', '.join(wkinds)}. Use the optimizer the exercise asks for.",
                expected=", ".join(wkinds),
                got=", ".join(got["kinds"]),
            )
            return fail_with(self.msg, fail)
        if got["count"] != count:
            if got["count"] == 0:
                fail = Fail(
                    "Your code never called optimizer.step(), so no weight changed: call it after "
                    "loss.backward(), once per batch.",
                    expected=f"{count} optimizer steps",
                    got="none",
                )
            else:
                fail = Fail(
                    f"Your code took {plural(got['count'], 'optimizer step')}; the exercise's run takes "
                    f"{count}, one per batch (or per step of the loop). Check what your loop goes over "
                    "and how often it steps.",
                    expected=f"{count} optimizer steps",
                    got=plural(got["count"], "optimizer step"),
                )
            return fail_with(self.msg, fail)
        return None


def optimizer_steps(count=SOLUTION, msg: str | None = None) -> Check:
    """How many times the learner's code called an optimizer's ``step`` (default: as many as
    the solution), and with which optimizer class and learning rate, observed by the
    recorder installed before the set-up. For plain PyTorch training loops: a loop over one
    batch, over two epochs, or stepping another optimizer shows here as what it did.
    Example: ``optimizer_steps()`` or ``optimizer_steps(5)``."""
    return _OptimizerSteps(count, msg)
