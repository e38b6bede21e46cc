"""The runtime budget of an exercise, and the record of what each one measured."""
BUDGET_S = 3.0  # solution + SCT, in a warm process, after the pre-exercise code
RESULTS: dict[str, dict] = {}  # exercise label -> {"id", "result", "seconds", "pre_seconds"}


def solution_seconds(times: dict) -> float:
    """What the budget counts: the code's own run, the probes and the verdict."""
    return times.get("code", 0.0) + times.get("probes", 0.0) + times.get("judge", 0.0)
