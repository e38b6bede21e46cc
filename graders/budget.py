"""The runtime budget of an exercise, and the record of what each one measured."""
BUDGET_S = 3.0  # solution + SCT, in a warm process, after the pre-exercise code
ATTEMPTS = 3  # a run over budget is measured again: noise only ever adds time
RESULTS: dict[str, dict] = {}  # exercise label -> {"id", "result", "seconds", "pre_seconds"}


def solution_seconds(times: dict) -> float:
    """What the budget counts: the code's own run, the probes and the verdict."""
    return times.get("code", 0.0) + times.get("probes", 0.0) + times.get("judge", 0.0)


def timed(run, attempts: int = ATTEMPTS):
    """Call ``run()`` (which returns Feedback) until a run is within budget, at most
    ``attempts`` times; return the fastest feedback and its seconds. On a shared machine a
    neighbour's load inflates a measurement but never shrinks it, so the fastest of a few
    is the honest figure for the exercise itself."""
    best, best_s = None, float("inf")
    for _ in range(attempts):
        feedback = run()
        seconds = solution_seconds(feedback.times)
        if seconds < best_s:
            best, best_s = feedback, seconds
        if not feedback.passed or seconds <= BUDGET_S:
            break
    return best, best_s


def over_budget(label: str, seconds: float) -> "str | None":
    """The rubric's runtime rule: the violation message, or None within budget."""
    if seconds <= BUDGET_S:
        return None
    return f"{label}: the solution and its SCT take {seconds:.2f} s; the rubric allows at most {BUDGET_S:.1f} s"
