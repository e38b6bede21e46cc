"""Experiments that were really tracked and searched: ``mlflow_runs`` and ``study``.

``mlflow_runs`` opens the MLflow store the learner's code wrote to (a local SQLite file,
``sqlite:///mlflow.db``) with MLflow's own client and reads back the runs of an
experiment: their status, parameters and metrics. A logger that was created but never
given to a Trainer, a run that never logged, or the deprecated file store (``./mlruns``)
are told apart::

    mlflow_runs("sqlite:///mlflow.db", experiment="cifar").runs(1).params("lr").metrics("val_acc")

``study`` reads an Optuna study after the learner's code: how many trials completed, the
direction, the search space of each parameter, and the trials' values. With a seeded
sampler the solution's trials are the same trials, so ``values()`` shows that each trial
really trained and returned its own result::

    study("study").direction("maximize").trials(3).searched("lr").values(atol=1e-6)
"""

from __future__ import annotations

import os

from graders.sct.api import SOLUTION, Fail, Family, SubCheck, resolve


class _RunCount(SubCheck):
    def __init__(self, experiment, n, msg):
        self.experiment, self.n, self.msg = experiment, n, msg

    def probe(self, run, runs):
        return len(runs)

    def judge(self, got, want, ctx):
        n = resolve(self.n, want or 0)
        if got != n:
            return Fail(
                f"The experiment '{self.experiment}' holds {got} runs; it should hold {n}.",
                expected=f"{n} runs",
                got=f"{got} runs",
            )
        return None


class _RunsLogged(SubCheck):
    """Every run logged these ``params`` or ``metrics``."""

    def __init__(self, experiment, kind, names, msg):
        self.experiment, self.kind, self.names, self.msg = experiment, kind, names, msg

    def probe(self, run, runs):
        return [sorted(r[self.kind]) for r in runs]

    def judge(self, got, want, ctx):
        for i, logged in enumerate(got, 1):
            missing = [m for m in self.names if m not in logged]
            if missing:
                what = "hyperparameter" if self.kind == "params" else "metric"
                return Fail(
                    f"Run {i} of '{self.experiment}' has no {what} '{missing[0]}'.",
                    expected=", ".join(self.names),
                    got=", ".join(logged) or "none",
                )
        return None


class _RunsFinished(SubCheck):
    def __init__(self, experiment, msg):
        self.experiment, self.msg = experiment, msg

    def probe(self, run, runs):
        return [r["status"] for r in runs]

    def judge(self, got, want, ctx):
        unfinished = [status for status in got if status != "FINISHED"]
        if unfinished:
            return Fail(
                f"A run of '{self.experiment}' ended as {unfinished[0]}: let trainer.fit finish, which closes the run.",
                expected="FINISHED",
                got=unfinished[0],
            )
        return None


class _MlflowRuns(Family):
    def __init__(self, uri: str, experiment: str):
        if not uri.startswith("sqlite:///"):
            raise ValueError("mlflow_runs reads a local SQLite store: sqlite:///<file>")
        super().__init__(None)  # a store, not a variable: failures point at no line
        self.uri, self.experiment = uri, experiment

    def find(self, run):
        path = os.path.join(run.workdir, self.uri[len("sqlite:///") :])
        facts = {"store": os.path.exists(path), "file_store": os.path.isdir(os.path.join(run.workdir, "mlruns"))}
        if not facts["store"]:
            return None, facts
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{path}")
        experiment = client.get_experiment_by_name(self.experiment)
        facts["experiments"] = [e.name for e in client.search_experiments()]
        facts["found"] = experiment is not None
        if experiment is None:
            return None, facts
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
        runs = [
            {
                "status": r.info.status,
                "params": dict(r.data.params),
                "metrics": {k: float(v) for k, v in r.data.metrics.items()},
            }
            for r in runs
        ]
        facts["empty"] = bool(runs) and all(not r["params"] and not r["metrics"] for r in runs)
        return (None if facts["empty"] else runs), facts

    def judge_subject(self, got, want, ctx):
        if not got["store"]:
            where = (
                " Your code wrote to ./mlruns, MLflow's deprecated file store, instead." if got["file_store"] else ""
            )
            return Fail(
                f"Nothing was written to the tracking store {self.uri}.{where} Give MLFlowLogger "
                f'tracking_uri="{self.uri}".',
                expected=f"runs in {self.uri}",
                got="no store",
            )
        if not got["found"]:
            others = [e for e in got["experiments"] if e != "Default"]
            names = ", ".join(others) or "none"
            if others:
                return Fail(
                    f"The store has no experiment named '{self.experiment}': the run went to "
                    f"'{others[0]}'. Name the experiment experiment_name=\"{self.experiment}\", so the run "
                    "is found where the project keeps it.",
                    expected=f"experiment '{self.experiment}'",
                    got=f"experiments: {names}",
                )
            return Fail(
                f"The store has no experiment named '{self.experiment}': no logger wrote to it. Give the "
                f'Trainer the MLFlowLogger (logger=...), with experiment_name="{self.experiment}".',
                expected=f"experiment '{self.experiment}'",
                got=f"experiments: {names}",
            )
        if got["empty"]:
            return Fail(
                f"A run was opened in '{self.experiment}' but nothing was logged to it: give the logger to "
                "the Trainer (logger=...), which sends it the hyperparameters and the metrics.",
                expected="hyperparameters and metrics",
                got="an empty run",
            )
        return None

    def runs(self, n=SOLUTION, msg: str | None = None) -> "_MlflowRuns":
        """The experiment holds ``n`` runs."""
        return self.add(_RunCount(self.experiment, n, msg))

    def params(self, *names: str, msg: str | None = None) -> "_MlflowRuns":
        """Every run logged these hyperparameters."""
        return self.add(_RunsLogged(self.experiment, "params", names, msg))

    def metrics(self, *names: str, msg: str | None = None) -> "_MlflowRuns":
        """Every run logged these metrics."""
        return self.add(_RunsLogged(self.experiment, "metrics", names, msg))

    def finished(self, msg: str | None = None) -> "_MlflowRuns":
        """Every run ended with the status FINISHED."""
        return self.add(_RunsFinished(self.experiment, msg))


def mlflow_runs(uri: str = "sqlite:///mlflow.db", experiment: str = "Default") -> _MlflowRuns:
    """Check the runs of ``experiment`` in a local MLflow SQLite store."""
    return _MlflowRuns(uri, experiment)


def _done(trials: list[dict]) -> list[dict]:
    return [t for t in trials if t["state"] == "COMPLETE"]


class _Direction(SubCheck):
    def __init__(self, value, msg):
        self.value, self.msg = value, msg

    def probe(self, run, s):
        return [d.name.lower() for d in s.directions]

    def judge(self, got, want, ctx):
        expected = resolve(self.value, (want or [None])[0])
        if got != [expected]:
            return Fail(
                f"The study tries to {got[0]} its objective, but the objective returns a value to {expected}.",
                expected=f'direction="{expected}"',
                got=f'direction="{got[0]}"',
                line=ctx.keyword_line("direction"),
            )
        return None


class _Trials(SubCheck):
    def __init__(self, n, msg):
        self.n, self.msg = n, msg

    def probe(self, run, s):
        return {"done": len(_done(_trials(s))), "all": len(s.trials)}

    def judge(self, got, want, ctx):
        n = resolve(self.n, (want or {}).get("done"))
        if got["done"] != n:
            failed = got["all"] - got["done"]
            extra = f" ({failed} trials failed or were pruned)" if failed else ""
            return Fail(
                f"{got['done']} trials completed{extra}; the study should run {n}.",
                expected=f"{n} complete trials",
                got=f"{got['done']}",
                line=ctx.keyword_line("n_trials"),
            )
        return None


class _Searched(SubCheck):
    def __init__(self, param, msg):
        self.param, self.msg = param, msg

    def probe(self, run, s):
        return [{"space": t["space"], "log": t["log"]} for t in _done(_trials(s))[:1]]

    def judge(self, got, want, ctx):
        return _space_fail(self.param, got, want or [])


class _Values(SubCheck):
    def __init__(self, atol, msg):
        self.atol, self.msg = atol, msg

    def probe(self, run, s):
        return [{"params": t["params"], "value": t["value"]} for t in _done(_trials(s))]

    def judge(self, got, want, ctx):
        return _values_fail(got, want or [], self.atol)


def _trials(s) -> list[dict]:
    trials = []
    for t in s.trials:
        # text and flat dicts: the wire keeps four levels of nesting
        space = {
            k: f"{type(d).__name__}({getattr(d, 'low', None)}, {getattr(d, 'high', None)}, "
            f"step={getattr(d, 'step', None)})"
            for k, d in t.distributions.items()
        }
        logs = {k: bool(getattr(d, "log", False)) for k, d in t.distributions.items()}
        trials.append({"state": t.state.name, "value": t.value, "params": dict(t.params), "space": space, "log": logs})
    return trials


class _Study(Family):
    def __init__(self, name: str):
        super().__init__(None)  # as before: a study's failures point at no line of their own
        self.variable = name

    def find(self, run):
        import optuna

        s = run.ns.get(self.variable)
        if s is None:
            return None, {"exists": False}
        if not isinstance(s, optuna.Study):
            return None, {"exists": True, "is_study": False, "type": type(s).__name__}
        return s, {"exists": True, "is_study": True}

    def judge_subject(self, got, want, ctx):
        if not got["exists"]:
            return Fail(f"Your code does not define `{self.variable}`: create it with optuna.create_study(...).")
        if not got["is_study"]:
            return Fail(
                f"`{self.variable}` should be an optuna Study, from optuna.create_study(...); got a {got['type']}."
            )
        return None

    def direction(self, value=SOLUTION, msg: str | None = None) -> "_Study":
        """The study's direction: "maximize" or "minimize"."""
        return self.add(_Direction(value, msg))

    def trials(self, n=SOLUTION, msg: str | None = None) -> "_Study":
        """``n`` trials completed."""
        return self.add(_Trials(n, msg))

    def searched(self, param: str, msg: str | None = None) -> "_Study":
        """``param`` was suggested from the solution's search space (range, log scale, step)."""
        return self.add(_Searched(param, msg))

    def values(self, atol: float = 1e-6, msg: str | None = None) -> "_Study":
        """The trials' values match the solution's trials (same sampler seed, same trials)."""
        return self.add(_Values(atol, msg))


def _space_fail(param, done, want_done) -> Fail | None:
    if not done:
        return Fail("No trial completed, so nothing was searched.")
    got = done[0]["space"].get(param)
    if got is None:
        return Fail(
            f"The trials never suggested '{param}': call trial.suggest_float(\"{param}\", ...) in the "
            "objective and use the value it returns.",
            expected=f"a parameter '{param}'",
            got=", ".join(done[0]["space"]) or "no parameters",
        )
    if not want_done:
        return None
    want, got_log, want_log = want_done[0]["space"].get(param), done[0]["log"][param], want_done[0]["log"].get(param)
    if got == want and got_log != want_log:
        return Fail(
            f"Search '{param}' on a log scale (log={want_log}): a learning rate matters by its order of "
            "magnitude, and a uniform search from 1e-4 to 1e-1 spends nine trials in ten above 0.01.",
            expected=f"log={want_log}",
            got=f"log={got_log}",
        )
    if got != want:
        return Fail(
            f"'{param}' was searched over another space than the one the exercise asks for.",
            expected=f"{want}, log={want_log}",
            got=f"{got}, log={got_log}",
        )
    return None


def _values_fail(done, want_done, atol) -> Fail | None:
    for i, (g, w) in enumerate(zip(done, want_done)):
        if g["params"] != w["params"]:
            return Fail(
                f"Trial {i} tried {g['params']}, the solution's {w['params']}: seed the sampler as the "
                "sample code does, so the search can be compared.",
                expected=str(w["params"]),
                got=str(g["params"]),
            )
        if g["value"] is None or abs(g["value"] - w["value"]) > atol:
            values = sorted({round(t["value"], 6) for t in done if t["value"] is not None})
            same = (
                " Every trial returned the same value: does the objective train a model with the suggested "
                "value and return its own result?"
                if len(values) == 1 and len(done) > 1
                else ""
            )
            return Fail(
                f"Trial {i} returned {g['value']!r}; training with {w['params']} gives {w['value']!r}."
                f"{same} The objective should return the validation accuracy of the model it trained.",
                expected=f"{w['value']!r}",
                got=f"{g['value']!r}",
            )
    return None


def study(name: str = "study") -> _Study:
    """Check an Optuna study the learner's code ran."""
    return _Study(name)
