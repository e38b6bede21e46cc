"""Combinators and escape hatches: ``correct`` (right either way) and ``custom``."""

from __future__ import annotations

from typing import Callable

from graders.sct.api import Check, Fail


class _Correct(Check):
    def __init__(self, check: Check, diagnose: list[Check]):
        self.check, self.diagnose = check, diagnose

    def before(self, run):
        for check in [self.check, *self.diagnose]:
            check.before(run)

    def probe(self, run):
        return [self.check.probe(run)] + [d.probe(run) for d in self.diagnose]

    def judge(self, got, want, ctx):
        want = want or [None] * len(got)
        fail = self.check.judge(got[0], want[0], ctx)
        if fail is None:
            return None  # right either way: the result is what counts
        for check, g, w in zip(self.diagnose, got[1:], want[1:]):
            reason = check.judge(g, w, ctx)
            if reason:
                return reason
        return fail


def correct(check: Check, diagnose: list[Check] | tuple = ()) -> Check:
    """Passes whenever ``check`` passes, whatever route the learner took; when it fails, the
    ``diagnose`` checks (for example ``uses(...)``) say why before its own message does."""
    return _Correct(check, list(diagnose))


class _Custom(Check):
    def __init__(self, probe: Callable | None, judge: Callable, before: Callable | None = None):
        self._probe, self._judge, self._before = probe, judge, before
        # Without a probe the judge reads only the source: it can name the cause of a crash too.
        self.static = probe is None and before is None

    def before(self, run):
        if self._before:
            self._before(run)

    def probe(self, run):
        return self._probe(run) if self._probe else None

    def judge(self, got, want, ctx):
        result = self._judge(got, want, ctx)
        if result is None or isinstance(result, Fail):
            return result
        return Fail(str(result))


def custom(judge: Callable, probe: Callable | None = None, before: Callable | None = None) -> Check:
    """A check the others do not cover: ``probe(run)`` returns plain data from the sandbox
    (``run.ns``, ``run.stdout``, ``run.workdir``, ``run.records``); ``judge(got, want, ctx)``
    returns None to pass, or a message (or Fail) to fail. ``want`` is the solution's probe
    result. ``before(run)``, if given, runs in the sandbox before the set-up and the
    learner's code, to install what the probe needs to observe (see ``Check.before``). A
    custom check without ``probe`` reads only the source (``ctx``), so it is static: when
    the learner's code raises, it still runs, and names the cause (a hard-coded "cuda")
    before the exception that followed."""
    return _Custom(probe, judge, before)
