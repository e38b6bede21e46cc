"""Checks of what the learner's code did, not what it set: the Trainer's recorded run, a
tensor's lineage, the loss value, the optimizer, initial parameters; the notebook-like
``__main__``; explanations of common errors. Each: one answer that passes and one that
fails with its exact message."""

from __future__ import annotations

import textwrap

import pytest
from engine_support import SUCCESS, check, make_exercise

from graders.feedback import ERROR, FAILED, PASSED


def _passes(feedback):
    assert feedback.outcome == PASSED, feedback.text()
    assert feedback.message == SUCCESS


def _fails(feedback, message, expected=None, got=None, line=None):
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message == message
    assert (feedback.expected, feedback.got, feedback.line) == (expected, got, line)


# --------------------------------------------------------------------------- __main__ as in a notebook


@pytest.fixture(scope="module")
def pickling(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("pickling"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("back").equals(), variable("same_main").equals(True))
    """,
        """
        import pickle, sys
        class Box:
            def __init__(self, v):
                self.v = v
        back = [pickle.loads(pickle.dumps(Point(2))).x, pickle.loads(pickle.dumps(Box(3))).v]
        same_main = sys.modules["__main__"].__dict__ is globals() and Box.__module__ == "__main__"
    """,
        pre="""
        class Point:
            def __init__(self, x):
                self.x = x
    """,
    )


def test_objects_of_classes_from_the_set_up_and_the_code_pickle_as_in_a_notebook(pickling):
    _passes(
        check(
            pickling,
            """
        import pickle, sys
        class Box:
            def __init__(self, v):
                self.v = v
        back = [pickle.loads(pickle.dumps(Point(2))).x, pickle.loads(pickle.dumps(Box(3))).v]
        same_main = sys.modules["__main__"].__dict__ is globals() and Box.__module__ == "__main__"
    """,
        )
    )


def test_torch_save_of_a_model_defined_in_the_code_loads_back(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("n").equals())
    """,
        """
        import torch
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 2)
        torch.save(Net(), "net.pt")
        n = type(torch.load("net.pt", weights_only=False)).__name__
    """,
    )
    _passes(check(ex, ex.step().solution))


# --------------------------------------------------------------------------- what a Trainer ran

_LIGHTNING_PRE = """
    import torch
    import torch.nn.functional as F
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    train_loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
    val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randint(0, 2, (16,))), batch_size=8)
    QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                 num_sanity_val_steps=0, accelerator="cpu", devices=1)

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)
        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.fc(x), y)
        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", F.cross_entropy(self.fc(x), y))
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    model = Tiny()
"""

_FIT = """
    trainer = pl.Trainer(max_epochs=1, **QUIET)
    trainer.fit(model, train_loader, val_loader)
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("ran"),
        """
        from graders.sct import SCT, SOLUTION, trainer
        sct = SCT(trainer("trainer").ran(model="model", train_loader="train_loader", val_loader="val_loader",
                                         train_batches=SOLUTION, epochs=SOLUTION, optimizer_steps=SOLUTION,
                                         val_batches=SOLUTION).metric_values("val_loss"))
    """,
        _FIT,
        pre=_LIGHTNING_PRE,
        timeout_s=20,
    )


def test_ran_passes_with_the_loaders_by_keyword(ran):
    _passes(
        check(
            ran,
            _FIT.replace(
                "fit(model, train_loader, val_loader)",
                "fit(model, val_dataloaders=val_loader, train_dataloaders=train_loader)",
            ),
        )
    )


def test_ran_knows_an_object_by_any_of_its_names(ran):
    _passes(
        check(
            ran,
            "a_model, loader = model, train_loader\n"
            + textwrap.dedent(_FIT).replace("fit(model, train_loader, val_loader)", "fit(a_model, loader, val_loader)"),
        )
    )


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            "max_epochs=1,",
            "max_epochs=1, fast_dev_run=True,",
            "The Trainer `trainer` ran 1 training batch; the exercise's run takes 4. Your Trainer's settings differ: "
            "fast_dev_run=True (the exercise's run has False). fast_dev_run=True runs a single batch and still reports "
            "an epoch.",
            "4 training batches",
            "1 training batch",
            2,
        ),
        (
            "max_epochs=1,",
            "max_epochs=1, limit_train_batches=2,",
            "The Trainer `trainer` ran 2 training batches; the exercise's run takes 4. Your Trainer's settings differ: "
            "limit_train_batches=2 (the exercise's run has 1.0).",
            "4 training batches",
            "2 training batches",
            2,
        ),
        (
            "max_epochs=1,",
            "max_epochs=1, accumulate_grad_batches=2,",
            "The Trainer `trainer` took 2 optimizer steps; the exercise's run takes 4. Your Trainer's settings differ: "
            "accumulate_grad_batches=2 (the exercise's run has 1).",
            "4 optimizer steps",
            "2 optimizer steps",
            2,
        ),
        (
            "max_epochs=1,",
            "max_epochs=1, limit_val_batches=1,",
            "The Trainer `trainer` ran 1 validation batch; the exercise's run validates on 2. Your Trainer's settings "
            "differ: limit_val_batches=1 (the exercise's run has 1.0).",
            "2 validation batches",
            "1 validation batch",
            2,
        ),
        (
            "fit(model, train_loader, val_loader)",
            "fit(model, val_loader, train_loader)",
            "The Trainer `trainer` trained on `val_loader`, the validation loader: the loaders are swapped. fit takes "
            "the training loader first (train_dataloaders), then the validation loader (val_dataloaders).",
            "trains on train_loader",
            "trains on val_loader",
            3,
        ),
        (
            "fit(model, train_loader, val_loader)",
            "fit(model, val_loader, val_loader)",
            "The Trainer `trainer` trained on `val_loader`, the validation loader, not on `train_loader`: the model would "
            "learn the very images it is measured on. Pass the training loader first (train_dataloaders).",
            "trains on train_loader",
            "trains on val_loader",
            3,
        ),
        (
            "fit(model, train_loader, val_loader)",
            "fit(model, train_loader)",
            "The Trainer `trainer` never validated: pass `val_loader` to fit as the validation loader (val_dataloaders), "
            "so it measures the model on held-out images after each epoch.",
            "validates on val_loader",
            "no validation",
            3,
        ),
        (
            "fit(model, train_loader, val_loader)",
            "fit(model, train_loader, train_loader)",
            "The Trainer `trainer` validated on `train_loader`, the images it trains on: that measures memory rather "
            "than learning. Validate on `val_loader`.",
            "validates on val_loader",
            "validates on train_loader",
            3,
        ),
        (
            "fit(model, train_loader, val_loader)",
            "fit(Tiny(), train_loader, val_loader)",
            "The Trainer `trainer` fitted a model your code does not keep in a variable, not `model`: pass `model` to "
            "fit, so that the model you keep is the one that trains.",
            "model",
            "a model your code does not keep in a variable",
            2,
        ),
        (
            "trainer.fit(model, train_loader, val_loader)",
            "pass",
            "The Trainer `trainer` never trained: call trainer.fit(model, ...).",
            "a fit that runs",
            "no fit",
            2,
        ),
    ],
)
def test_ran_judges_behaviour_not_settings(ran, old, new, message, expected, got, line):
    _fails(check(ran, _FIT.replace(old, new)), message, expected, got, line)


_TEST = """
    class Tested(Tiny):
        def test_step(self, batch, batch_idx):
            self.log("test_loss", F.cross_entropy(self.fc(batch[0]), batch[1]))
    trainer = pl.Trainer(max_epochs=1, precision="bf16-mixed", **QUIET)
    trainer.test(Tested(), val_loader)
"""


@pytest.fixture(scope="module")
def tested(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("tested"),
        """
        from graders.sct import SCT, trainer
        sct = SCT(trainer("trainer").kept_precision().tested())
    """,
        _TEST,
        pre=_LIGHTNING_PRE,
        timeout_s=20,
    )


def test_tested_and_kept_precision_pass(tested):
    _passes(check(tested, _TEST))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            'precision="bf16-mixed"',
            'precision="16-mixed"',
            "The Trainer `trainer` was asked for precision='16-mixed' and runs with 'bf16-mixed': Lightning fell back "
            "because this device does not support it. Choose the precision by device.",
            "precision='16-mixed'",
            "precision='bf16-mixed'",
            5,
        ),
        (
            "trainer.test(",
            "trainer.validate(",
            "The Trainer `trainer` did not run a test: call trainer.test(model, test_loader). It runs test_step on every "
            "test batch once; fit and validate never call it.",
            "a finished test",
            "state finished",
            5,
        ),
    ],
)
def test_tested_and_kept_precision_fail(tested, old, new, message, expected, got, line):
    _fails(check(tested, _TEST.replace(old, new)), message, expected, got, line)


def test_ran_names_a_training_step_without_a_loss(ran):
    code = (
        "class NoLoss(Tiny):\n    def training_step(self, batch, batch_idx):\n        super().training_step("
        "batch, batch_idx)\n\nmodel = NoLoss()\n" + _FIT.strip().replace("    ", "")
    )
    _fails(
        check(ran, code),
        "The Trainer `trainer` ran 4 training batches but never called backward: "
        "training_step returned no loss, so Lightning skipped every update. Return the loss "
        "tensor from training_step.",
        "a backward pass per batch",
        "no backward pass",
        6,
    )


def test_a_trainer_built_in_the_set_up_is_recorded_too(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, SOLUTION, trainer
        sct = SCT(trainer("trainer").ran(train_batches=SOLUTION))
    """,
        "trainer.fit(model, train_loader)\n",
        pre=textwrap.dedent(_LIGHTNING_PRE) + "\ntrainer = pl.Trainer(max_epochs=1, **QUIET)\n",
        timeout_s=20,
    )
    _passes(check(ex, "trainer.fit(model, train_dataloaders=train_loader)\n"))
    feedback = check(ex, "trainer.fit(model, val_loader)\n")
    _fails(
        feedback,
        "The Trainer `trainer` ran 2 training batches; the exercise's run takes 4. It trained on 16 "
        "images an epoch; the exercise's run trains on 32: check the data set the training loader "
        "serves.",
        "4 training batches",
        "2 training batches",
        None,
    )


def test_metric_values_are_compared_with_the_solutions(ran):
    code = (
        "class Summed(Tiny):\n    def validation_step(self, batch, batch_idx):\n        x, y = batch\n"
        "        self.log('val_loss', F.cross_entropy(self.fc(x), y, reduction='sum'))\n\nmodel = Summed()\n"
        + _FIT.strip().replace("    ", "")
    )
    feedback = check(ran, code)
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message.startswith("The logged 'val_loss' is ")
    assert feedback.message.endswith(": it is not computed the way the exercise asks.")


# --------------------------------------------------------------------------- lineage: computed by the code


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("lineage"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("c").equals().computed_with("matmul", "mm"))
    """,
        "c = a @ b\n",
        pre="import torch\na, b = torch.eye(3) * 2, torch.arange(9.0).reshape(3, 3)\ncopy = a @ b\n",
    )


@pytest.mark.parametrize(
    "code", ["c = a @ b\n", "c = torch.matmul(a, b)\n", "c = a.mm(b).clone()\n", "c = (b.T @ a.T).T\n"]
)
def test_computed_with_accepts_any_route_through_the_operation(lineage, code):
    _passes(check(lineage, code))


@pytest.mark.parametrize(
    "code,got",
    [
        ("c = copy\n", "made by no operation of your code (a copy or a constant)"),
        ("c = torch.tensor((a @ b).tolist())\n", "made by tensor"),
        ("c = torch.tensor([[0., 2, 4], [6, 8, 10], [12, 14, 16]])\n", "made by tensor"),
    ],
)
def test_computed_with_rejects_a_copied_result(lineage, code, got):
    _fails(
        check(lineage, code),
        "`c` was not computed with `matmul` or `mm` in your code: it must come from that "
        "operation on the inputs, not from a value copied or typed in.",
        "made by `matmul` or `mm`",
        got,
        1,
    )


# --------------------------------------------------------------------------- loss value, optimizer, parameters

_LIT = """
    import torch
    import torch.nn.functional as F
    import pytorch_lightning as pl
    from torch import nn

    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
        def training_step(self, batch, batch_idx):
            x, y = batch
            return F.cross_entropy(self.net(x), y)
        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    model = Lit()
"""


@pytest.fixture(scope="module")
def lit(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("lit"),
        """
        from graders.sct import SCT, lightning_module
        sct = SCT(lightning_module("model").same_optimizer().loss_value())
    """,
        _LIT,
    )


def test_loss_value_and_optimizer_pass(lit):
    _passes(
        check(
            lit,
            _LIT.replace(
                "return F.cross_entropy(self.net(x), y)",
                "loss = F.nll_loss(F.log_softmax(self.net(x), dim=1), y)\n            return loss",
            ),
        )
    )


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            "torch.optim.Adam(self.parameters(), lr=1e-3)",
            "torch.optim.SGD(self.parameters(), lr=1e-3)",
            "`configure_optimizers` returns SGD; the exercise asks for Adam. Each optimizer follows its own update rule, "
            "so the training would differ.",
            "Adam",
            "SGD",
        ),
        (
            "torch.optim.Adam(self.parameters(), lr=1e-3)",
            "torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=1e-3)",
            "`configure_optimizers` optimizes parameters that are not this module's own (a new model's, say), so "
            "training never changes the module: pass self.parameters().",
            "the module's parameters",
            "2 other tensors",
        ),
        (
            "torch.optim.Adam(self.parameters(), lr=1e-3)",
            "torch.optim.Adam([self.net[1].weight], lr=1e-3)",
            "`configure_optimizers` leaves 1 of the module's trainable parameters out, so they never train: pass "
            "self.parameters().",
            "every trainable parameter",
            "1 left out",
        ),
        (
            "lr=1e-3",
            "lr=0.1",
            "The optimizer's learning rate is 0.1; the exercise asks for 0.001.",
            "lr=0.001",
            "lr=0.1",
        ),
    ],
)
def test_same_optimizer_names_the_difference(lit, old, new, message, expected, got):
    _fails(check(lit, _LIT.replace(old, new)), message, expected, got, 14)


def test_loss_value_catches_softmax_before_cross_entropy(lit):
    feedback = check(
        lit, _LIT.replace("F.cross_entropy(self.net(x), y)", "F.cross_entropy(F.softmax(self.net(x), dim=1), y)")
    )
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message.startswith("`training_step` returns a loss of ")
    assert feedback.message.endswith(": it is not the loss the exercise asks for.")
    assert feedback.line == 11


@pytest.fixture(scope="module")
def scale(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("scale"),
        """
        from graders.sct import SCT, module
        sct = SCT(module("Scale(2)").initial_parameters(), module("model").gradients_flow())
    """,
        """
        import torch
        from torch import nn
        class Scale(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(1, c, 1, 1))
            def forward(self, x):
                return x * self.weight
        model = nn.Sequential(nn.Conv2d(3, 2, 1), Scale(2), nn.Flatten(), nn.Linear(2 * 32 * 32, 10))
    """,
    )


def test_initial_parameters_pass_however_they_are_made(scale):
    _passes(check(scale, scale.step().solution.replace("torch.ones(1, c, 1, 1)", "torch.full((1, c, 1, 1), 1.0)")))


def test_initial_parameters_name_a_zero_start(scale):
    feedback = check(scale, scale.step().solution.replace("torch.ones(1, c, 1, 1)", "torch.zeros(1, c, 1, 1)"))
    _fails(
        feedback,
        "`Scale(2).weight` starts with the wrong values: how a parameter is initialised decides what "
        "the layer does before it has learnt anything.",
        line=4,
    )


def test_zero_gradients_are_told_apart_from_unused_parameters(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, module
        sct = SCT(module("model").gradients_flow())
    """,
        "from torch import nn\nmodel = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))\n",
    )
    code = (
        "import torch\nfrom torch import nn\nmodel = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))\n"
        "with torch.no_grad():\n    model[1].weight.zero_()\nmodel = nn.Sequential(model, nn.Linear(10, 10))\n"
        "with torch.no_grad():\n    model[1].weight.zero_()\n"
    )
    _fails(
        check(ex, code),
        "After a backward pass, 2 of 4 parameters of `model` get a gradient of exactly zero: "
        "the forward pass uses them, but their effect vanishes, for example a factor or weight "
        "that starts at zero, or an output that a later step discards.",
        "every parameter gets a non-zero gradient",
        "0.1.weight, 0.1.bias",
        6,
    )


# --------------------------------------------------------------------------- common errors, the before hook


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("plain"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("g").equals())
    """,
        "import torch\nw = torch.ones(3, requires_grad=True)\ns = w * 2\nloss = (s ** 2).sum()\n"
        "loss.backward()\ng = w.grad\n",
    )


def test_an_in_place_change_is_blamed_on_its_own_line(plain):
    code = (
        "import torch\nw = torch.ones(3, requires_grad=True)\ns = w.exp()\ns += 1\nloss = s.sum()\n"
        "loss.backward()\ng = w.grad\n"
    )
    feedback = check(plain, code)
    assert feedback.outcome == ERROR, feedback.text()
    assert feedback.message.startswith(
        "An in-place operation (+=, a method ending in _, or an assignment into a "
        "slice) changed a tensor that autograd had saved"
    )
    assert feedback.line == 4
    assert "modified by an inplace operation" in feedback.detail


def test_none_used_as_a_value_is_explained(plain):
    feedback = check(plain, "def f():\n    pass\ng = f()()\n")
    assert feedback.outcome == ERROR
    assert feedback.message.startswith("Something your code uses is None: a function or method without a `return`")
    assert feedback.detail == "Your code raised TypeError on line 3: 'NoneType' object is not callable"


def test_a_custom_check_can_observe_the_run_from_before_the_set_up(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        import builtins
        from graders.sct import SCT, custom

        def before(run):
            calls = run.records.setdefault("prints", [])
            original = builtins.print
            def counting(*args, **kwargs):
                calls.append(run.phase)
                return original(*args, **kwargs)
            builtins.print = counting

        sct = SCT(custom(before=before, probe=lambda run: run.records["prints"],
                         judge=lambda got, want, ctx: None if got == want else f"printed in {got}"))
    """,
        "print(1)\n",
        pre="print(0)\n",
    )
    _passes(check(ex, "print('one')\n"))
    _fails(check(ex, "print(1)\nprint(2)\n"), "printed in ['pre', 'code', 'code']")


# --------------------------------------------------------------------------- a plain loop's optimizer steps

_LOOP = """
    import torch
    w = torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    for _ in range(4):
        opt.zero_grad()
        ((w - 1) ** 2).sum().backward()
        opt.step()
"""


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("steps"),
        """
        from graders.sct import SCT, optimizer_steps
        sct = SCT(optimizer_steps())
    """,
        _LOOP,
    )


def test_optimizer_steps_pass(steps):
    _passes(check(steps, _LOOP.replace("for _ in range(4):", "for step in [0, 1, 2, 3]:")))


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            "range(4)",
            "range(2)",
            "Your code took 2 optimizer steps; the exercise's run takes 4, one per batch (or per "
            "step of the loop). Check what your loop goes over and how often it steps.",
            "4 optimizer steps",
            "2 optimizer steps",
        ),
        (
            "        opt.step()\n",
            "",
            "Your code never called optimizer.step(), so no weight changed: call it after "
            "loss.backward(), once per batch.",
            "4 optimizer steps",
            "none",
        ),
        (
            "torch.optim.SGD([w], lr=0.1)",
            "torch.optim.Adam([w], lr=0.1)",
            "Your code steps the optimizer Adam(lr=0.1); "
            "the exercise's run steps SGD(lr=0.1). Use the optimizer the exercise asks for.",
            "SGD(lr=0.1)",
            "Adam(lr=0.1)",
        ),
    ],
)
def test_optimizer_steps_fail(steps, old, new, message, expected, got):
    _fails(check(steps, _LOOP.replace(old, new)), message, expected, got)


# --------------------------------------------------------------------------- causes before consequences


def test_settings_name_fast_dev_run_as_the_cause_of_a_changed_max_epochs(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, SOLUTION, trainer
        sct = SCT(trainer("trainer").settings(max_epochs=SOLUTION, msg="Train for one epoch."))
    """,
        _FIT,
        pre=_LIGHTNING_PRE,
        timeout_s=20,
    )
    _fails(
        check(ex, _FIT.replace("max_epochs=1,", "max_epochs=1, fast_dev_run=True,")),
        "The Trainer `trainer` runs with fast_dev_run=True, a one-batch trial run that overrides max_epochs and "
        "still reports an epoch: remove it to train for real.",
        "fast_dev_run=False",
        "fast_dev_run=True",
        2,
    )
    _fails(
        check(ex, _FIT.replace("max_epochs=1,", "max_epochs=2,")),
        "Train for one epoch.",
        "max_epochs=1",
        "max_epochs=2",
        2,
    )


@pytest.fixture(scope="module")
def static_custom(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("static_custom"),
        """
        from graders.sct import SCT, custom, variable
        sct = SCT(custom(judge=lambda got, want, ctx: "Do not name the device." if '"cuda"' in ctx.code else None),
                  variable("x").equals())
    """,
        "import torch\nx = torch.ones(2)\n",
    )


def test_a_source_only_custom_check_names_the_cause_of_a_crash(static_custom):
    feedback = check(static_custom, 'import torch\nx = torch.ones(2).to("cuda")\n')
    _fails(feedback, "Do not name the device.")
    assert feedback.detail.startswith("Your code raised")
    _passes(check(static_custom, "import torch\nx = torch.ones(2).to(torch.device('cpu'))\n"))


# --------------------------------------------------------------------------- counterfactual re-run


@pytest.fixture(scope="module")
def rerun(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("rerun"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("total").equals().counterfactual("xs = [5, 6, 7]", "other numbers in xs"))
    """,
        "total = sum(v * 2 for v in xs)\nprint('total', total)\n",
        pre="xs = [1, 2, 3]\n",
    )


def test_counterfactual_passes_a_result_computed_from_the_inputs(rerun):
    feedback = check(rerun, "total = 0\nfor v in xs:\n    total += 2 * v\nprint('total', total)\n")
    _passes(feedback)
    assert feedback.stdout == "total 12\n"  # the re-run's output is not shown


@pytest.mark.parametrize(
    "code,message,expected,got",
    [
        (
            "total = 12\n",
            "`total` stays the same when the inputs change (other numbers in xs): your code does not "
            "compute it from them. A value typed in, or copied from an earlier output, is right for one input only.",
            "36",
            "12",
        ),
        (
            "total = sum(xs) * 2 if xs[0] == 1 else 0\n",
            "With other numbers in xs, `total` has the wrong value.",
            "36",
            "0",
        ),
        (
            "total = 12 if xs[0] == 1 else xs[10]\n",
            "Run again with other numbers in xs, your code raised IndexError: list index out of range",
            None,
            None,
        ),
    ],
)
def test_counterfactual_rejects_a_result_that_does_not_follow_the_inputs(rerun, code, message, expected, got):
    _fails(check(rerun, code), message, expected, got, 1)


def test_a_broken_before_hook_is_the_exercises_fault_not_the_learners(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, custom
        def before(run):
            raise RuntimeError("no recorder")
        sct = SCT(custom(before=before, probe=lambda run: None, judge=lambda got, want, ctx: None))
    """,
        "x = 1\n",
    )
    feedback = check(ex, "x = 1\n")
    assert feedback.outcome == "internal error", feedback.text()
    assert "The exercise's own solution failed (internal): no recorder" in feedback.message
