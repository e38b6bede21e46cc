"""Every kind of SCT check: one answer that passes and one that fails, with its exact
message. Each exercise is a throwaway one, built in a temporary folder."""

from __future__ import annotations

import pytest
import torch
from engine_support import SUCCESS, check, make_exercise

from graders.compare import mismatch
from graders.feedback import FAILED, PASSED
from graders.wire import decode


def _passes(feedback):
    assert feedback.outcome == PASSED, feedback.text()
    assert feedback.message == SUCCESS


def _fails(feedback, message, expected=None, got=None, line=None):
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message == message
    assert (feedback.expected, feedback.got, feedback.line) == (expected, got, line)
    assert "Expected something different" not in feedback.text()


# --------------------------------------------------------------------------- values


@pytest.fixture(scope="module")
def values(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("values"),
        """
        import torch
        from graders.sct import SCT, variable
        sct = SCT(
            variable("xs").instance_of(list).equals(),
            variable("a").instance_of("numpy.ndarray").equals(),
            variable("w").instance_of(torch.Tensor).equals(),
            variable("y").equals(atol=0.1, rtol=0),
        )
    """,
        """
        import numpy as np
        import torch
        xs = [1, 2, 4]
        a = np.zeros((2, 3))
        w = torch.ones(3, requires_grad=True)
        y = torch.arange(6.0).reshape(2, 3)
    """,
    )


GOOD = (
    "import numpy as np\nimport torch\nxs = [1, 2, 4]\na = np.zeros((2, 3))\n"
    "w = torch.ones(3, requires_grad=True)\ny = torch.arange(6.0).reshape(2, 3)\n"
)


def test_values_pass_within_tolerance(values):
    _passes(check(values, GOOD.replace("reshape(2, 3)", "reshape(2, 3) + 0.05")))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            "xs = [1, 2, 4]\n",
            "",
            "Your code does not define `xs`. Did you assign to it?",
            "a variable named xs",
            "no such variable",
            None,
        ),
        ("xs = [1, 2, 4]", "xs = (1, 2, 4)", "`xs` should be a list.", "list", "tuple", 3),
        ("xs = [1, 2, 4]", "xs = [1, 2, 3]", "`xs[2]` has the wrong value.", "4", "3", 3),
        ("xs = [1, 2, 4]", "xs = [1, 2]", "`xs` should have 3 items, but it has 2.", "[1, 2, 4]", "[1, 2]", 3),
        ("np.zeros((2, 3))", "np.zeros((3, 2))", "`a` has the wrong shape.", "shape (2, 3)", "shape (3, 2)", 4),
        ("np.zeros((2, 3))", "np.zeros((2, 3), dtype=np.float32)", "`a` has the wrong dtype.", "float64", "float32", 4),
        (
            "w = torch.ones(3, requires_grad=True)",
            "w = [1.0, 1.0, 1.0]",
            "`w` should be a Tensor.",
            "Tensor",
            "list",
            5,
        ),
        (
            "torch.ones(3, requires_grad=True)",
            "torch.ones(3, dtype=torch.float64, requires_grad=True)",
            "`w` has the wrong dtype.",
            "torch.float32",
            "torch.float64",
            5,
        ),
        (
            "torch.ones(3, requires_grad=True)",
            "torch.ones(3)",
            "`w` should track gradients (requires_grad).",
            "requires_grad=True",
            "requires_grad=False",
            5,
        ),
    ],
)
def test_values_fail_on_the_first_difference(values, old, new, message, expected, got, line):
    _fails(check(values, GOOD.replace(old, new)), message, expected, got, line)


def test_tensor_values_report_the_largest_difference_and_where(values):
    feedback = check(values, GOOD.replace("reshape(2, 3)", "reshape(2, 3) * 2"))
    _fails(feedback, "`y` has the right shape but the wrong values.", line=6)
    assert feedback.detail == (
        "Mismatched elements: 5 / 6 (83.3%)\n"
        "Greatest absolute difference: 5.0 at index (1, 2) (up to 0.1 allowed)\n"
        "Greatest relative difference: 1.0 at index (0, 1) (up to 0 allowed)"
    )


def test_tensor_device_is_compared():
    want = decode({"__tensor__": torch.zeros(2), "device": "cpu", "requires_grad": False})
    got = decode({"__tensor__": torch.zeros(2), "device": "cuda:0", "requires_grad": False})
    fail = mismatch("x", got, want)
    assert (fail.message, fail.expected, fail.got) == ("`x` is on the wrong device.", "device cpu", "device cuda:0")
    assert mismatch("x", want, want) is None


@pytest.fixture(scope="module")
def expressions(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("expr"),
        """
        from graders.sct import SCT, expression
        sct = SCT(expression("len(names)").equals(3))
    """,
        "names = ['a', 'b', 'c']\n",
    )


def test_expression(expressions):
    _passes(check(expressions, "names = ['c', 'b', 'a']\n"))
    _fails(check(expressions, "names = ['a']\n"), "`len(names)` has the wrong value.", "3", "1", 1)
    _fails(
        check(expressions, "nams = ['a', 'b', 'c']\n"),
        "Evaluating `len(names)` after your code failed: NameError: name 'names' is not defined.",
    )


# --------------------------------------------------------------------------- code


@pytest.fixture(scope="module")
def uses_add(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("uses"),
        """
        from graders.sct import SCT, avoids, uses, variable
        sct = SCT(uses("torch.add", ".add", "+"), avoids("for", msg="Add the tensors in one operation, no loop."),
                  variable("c").equals())
    """,
        "import torch\na, b = torch.ones(3), torch.arange(3.0)\nc = torch.add(a, b)\n",
    )


@pytest.mark.parametrize("route", ["torch.add(a, b)", "a.add(b)", "a + b"])
def test_uses_accepts_every_allowed_alias(uses_add, route):
    _passes(check(uses_add, f"import torch\na, b = torch.ones(3), torch.arange(3.0)\nc = {route}\n"))


def test_uses_resolves_import_aliases(uses_add):
    _passes(check(uses_add, "import torch as T\na, b = T.ones(3), T.arange(3.0)\nc = T.add(a, b)\n"))


def test_uses_fails_when_none_is_used(uses_add):
    _fails(
        check(uses_add, "import torch\na, b = torch.ones(3), torch.arange(3.0)\nc = torch.sub(a, -b)\n"),
        "Use `torch.add` or a .add() method call or `+`: your code does not.",
    )


def test_avoids(uses_add):
    code = (
        "import torch\na, b = torch.ones(3), torch.arange(3.0)\nc = a + b\nfor i in range(3):\n    c[i] = a[i] + b[i]\n"
    )
    _fails(check(uses_add, code), "Add the tensors in one operation, no loop.", line=4)


@pytest.fixture(scope="module")
def printing(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("printed"),
        """
        from graders.sct import SCT, printed
        sct = SCT(printed(contains="accuracy"), printed())
    """,
        "print('accuracy: 0.5')\nprint('done')\n",
    )


def test_printed(printing):
    _passes(check(printing, "print('accuracy:', 0.5)\nprint('done')\n"))
    _fails(
        check(printing, "print('acc: 0.5')\n"),
        "Your code's printed output is missing something.",
        "output containing 'accuracy'",
        "'acc: 0.5'",
    )
    _fails(
        check(printing, "print('accuracy: 0.25')\nprint('done')\n"),
        "Line 1 of your printed output differs.",
        "accuracy: 0.5",
        "accuracy: 0.25",
    )


# --------------------------------------------------------------------------- nn.Module

MODEL = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4 * 32 * 32, 10)

    def forward(self, x):
        return self.head(self.conv(x).flatten(1))

model = Net()
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("module"),
        """
        from torch import nn
        from graders.sct import SCT, module
        sct = SCT(module("model").layers(nn.Conv2d, "Linear").param_count().output_shape()
                  .gradients_flow().trains())
    """,
        MODEL,
    )


def test_module_passes(modules):
    _passes(check(modules, MODEL))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        ("model = Net()", "model = 'Net'", "`model` should be a torch.nn.Module.", "an nn.Module", "str", 14),
        (
            "nn.Conv2d(3, 4, 3, padding=1)",
            "nn.Identity()",
            "`model` should contain a Conv2d layer.",
            "Conv2d, Linear",
            "Identity, Linear",
            14,
        ),
        (
            "nn.Conv2d(3, 4, 3, padding=1)",
            "nn.Conv2d(3, 4, 3, padding=1, bias=False)",
            "`model` has the wrong number of parameters.",
            "41,082",
            "41,078",
            14,
        ),
    ],
)
def test_module_structure_fails(modules, old, new, message, expected, got, line):
    _fails(check(modules, MODEL.replace(old, new)), message, expected, got, line)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("shape"),
        """
        from graders.sct import SCT, module
        sct = SCT(module("model", batch=64).output_shape())
    """,
        MODEL,
    )


def test_module_output_shape_on_a_cifar_batch(shapes):
    _passes(check(shapes, MODEL))
    _fails(
        check(shapes, MODEL.replace("32 * 32, 10)", "32 * 32, 3)")),
        "`model` gives the wrong output shape for a batch of shape (64, 3, 32, 32).",
        "(64, 10)",
        "(64, 3)",
        14,
    )


def test_module_forward_error_points_at_the_learners_line(modules):
    feedback = check(modules, MODEL.replace("return self.head(self.conv(x).flatten(1))", "return self.head(x)"))
    assert feedback.outcome == FAILED
    assert feedback.message.startswith(
        "Calling `model` on a CIFAR-10 batch of shape (8, 3, 32, 32) raised "
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied"
    )
    assert feedback.line == 12 and feedback.code_line.strip() == "return self.head(x)"


def test_module_gradients_must_reach_every_parameter(modules):
    code = MODEL.replace("model = Net()", "model = Net()\nmodel.extra = nn.Linear(2, 2)")
    _fails(
        check(modules, code.replace("param_count()", "")),  # the extra layer also changes the count
        "`model` has the wrong number of parameters.",
        "41,082",
        "41,088",
        15,
    )
    gradients = make_exercise(
        modules.sct_path.parent / "grad",
        """
        from graders.sct import SCT, module
        sct = SCT(module("model").gradients_flow())
    """,
        MODEL,
    )
    _passes(check(gradients, MODEL))
    _fails(
        check(gradients, code),
        "After a backward pass, 2 of 6 parameters of `model` have no gradient: the forward pass does not use them.",
        "every parameter gets a gradient",
        "extra.weight, extra.bias",
        15,
    )


def test_module_one_step_must_change_the_weights(modules):
    trains = make_exercise(
        modules.sct_path.parent / "trains",
        """
        from graders.sct import SCT, module
        sct = SCT(module("model").trains())
    """,
        MODEL,
    )
    _passes(check(trains, MODEL))
    _fails(
        check(trains, MODEL + "model.requires_grad_(False)\n"),
        "One optimizer step did not change any weight of `model`: are all its parameters frozen?",
        line=14,
    )


# --------------------------------------------------------------------------- LightningModule

LIT = """
import torch
import torch.nn.functional as F
import pytorch_lightning as pl
from torch import nn

class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

model = Lit()
"""


@pytest.fixture(scope="module")
def lightning(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("lit"),
        """
        from graders.sct import SCT, lightning_module
        sct = SCT(lightning_module("model", batch=4).hooks("training_step", "configure_optimizers")
                  .training_step_loss().optimizers().fast_dev_run())
    """,
        LIT,
    )


def test_lightning_module_passes(lightning):
    _passes(check(lightning, LIT))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            "class Lit(pl.LightningModule):",
            "class Lit(nn.Module):",
            "`model` should be a LightningModule (subclass pl.LightningModule).",
            "LightningModule",
            "Lit",
            22,
        ),
        (
            "    def configure_optimizers(self):\n        return torch.optim.SGD(self.parameters(), lr=0.1)\n",
            "",
            "`model`'s class does not define `configure_optimizers`, which Lightning needs here.",
            "training_step, configure_optimizers",
            "training_step, forward",
            20,
        ),
        (
            "return F.cross_entropy(self(x), y)",
            "return F.cross_entropy(self(x), y, reduction='none')",
            "`training_step` should return a single number: reduce the loss to a scalar.",
            "shape ()",
            "shape (4,)",
            22,
        ),
        (
            "return F.cross_entropy(self(x), y)",
            "return F.cross_entropy(self(x), y).item()",
            "`training_step` should return the loss tensor (or a dict with a 'loss' key).",
            "a scalar tensor",
            "float",
            22,
        ),
        (
            "return F.cross_entropy(self(x), y)",
            "return F.cross_entropy(self(x), y).detach()",
            "The loss from `training_step` does not carry gradients: was it detached, or computed under torch.no_grad()?",
            None,
            None,
            22,
        ),
        (
            "return torch.optim.SGD(self.parameters(), lr=0.1)",
            "torch.optim.SGD(self.parameters(), lr=0.1)",
            "`configure_optimizers` should return an optimizer, such as torch.optim.Adam(...).",
            "a torch.optim.Optimizer",
            "NoneType",
            22,
        ),
        (
            "x, y = batch\n",
            "x, y = batch\n        assert False, 'not yet'\n",
            "`training_step` on one batch raised AssertionError: not yet",
            None,
            None,
            17,
        ),
    ],
)
def test_lightning_module_fails(lightning, old, new, message, expected, got, line):
    _fails(check(lightning, LIT.replace(old, new)), message, expected, got, line)


def test_lightning_fast_dev_run_fails(tmp_path):
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, lightning_module
        sct = SCT(lightning_module("model", batch=4).fast_dev_run())
    """,
        LIT,
    )
    _passes(check(exercise, LIT))
    feedback = check(exercise, LIT.replace("return torch.optim.SGD(self.parameters(), lr=0.1)", "return 'sgd'"))
    assert feedback.outcome == FAILED and feedback.line == 22
    assert feedback.message.startswith(  # the rest is Lightning's own list of what it accepts
        "A one-batch trial run (Trainer(fast_dev_run=True).fit) raised MisconfigurationException: "
        "Unknown configuration for model optimizers."
    )


# --------------------------------------------------------------------------- Trainer

FIT = (
    LIT
    + """
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

class Logged(Lit):
    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.log("train_loss", loss)
        return loss

loader = DataLoader(TensorDataset(torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))), batch_size=4)
checkpoint = ModelCheckpoint(dirpath="ckpt", monitor="train_loss", mode="min")
trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_progress_bar=False,
                     enable_model_summary=False, callbacks=[checkpoint])
trainer.fit(Logged(), loader)
"""
)


@pytest.fixture(scope="module")
def trainers(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("trainer"),
        """
        from graders.sct import SCT, SOLUTION, trainer
        sct = SCT(trainer("trainer").settings(max_epochs=SOLUTION, accelerator="cpu", callbacks=["ModelCheckpoint"])
                  .checkpointing(monitor=SOLUTION, mode="min").fitted().logged("train_loss"))
    """,
        FIT,
    )


def test_trainer_passes(trainers):
    _passes(check(trainers, FIT))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            "max_epochs=1,",
            "max_epochs=2,",
            "The Trainer `trainer` has the wrong `max_epochs` setting.",
            "max_epochs=1",
            "max_epochs=2",
            35,
        ),
        (
            "callbacks=[checkpoint])",
            "enable_checkpointing=False)",
            "The Trainer `trainer` is missing the ModelCheckpoint in its callbacks.",
            "callbacks including ModelCheckpoint",
            "none",
            35,
        ),
        (
            'mode="min"',
            'mode="max"',
            "The ModelCheckpoint callback has the wrong `mode`.",
            "mode='min'",
            "mode='max'",
            34,
        ),
        (
            "trainer.fit(Logged(), loader)",
            "model.eval()",
            "The Trainer `trainer` was never fitted: call trainer.fit(model, ...).",
            "a finished fit",
            "state initializing",
            35,
        ),
    ],
)
def test_trainer_fails(trainers, old, new, message, expected, got, line):
    _fails(check(trainers, FIT.replace(old, new)), message, expected, got, line)


def test_trainer_logged(tmp_path):
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, trainer
        sct = SCT(trainer("trainer").logged("train_loss"))
    """,
        FIT,
    )
    code = FIT.replace('self.log("train_loss", loss)', 'self.log("loss", loss)').replace(
        'monitor="train_loss"', 'monitor="loss"'
    )
    _fails(
        check(exercise, code),
        "The metric 'train_loss' was never logged: call self.log('train_loss', ...) in the step that computes it.",
        "train_loss",
        "loss",
        35,
    )


# --------------------------------------------------------------------------- files

SAVE = (
    MODEL
    + """
torch.jit.script(model).save("model.pt")
torch.save(model.state_dict(), "weights.pt")
torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), "model.onnx", input_names=["x"],
                  dynamic_axes={"x": {0: "batch"}}, dynamo=False)
"""
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("files"),
        """
        from graders.sct import SCT, file
        sct = SCT(file("model.pt").loads("torchscript").matches_model("model"),
                  file("weights.pt").loads("state_dict").matches_model("model"),
                  file("model.onnx").loads("onnx").matches_model("model", atol=1e-4))
    """,
        SAVE,
    )


def test_files_load_and_match_the_model(files):
    _passes(check(files, SAVE))


def test_file_missing(files):
    _fails(
        check(files, SAVE.replace('"model.pt"', '"net.pt"')),
        "No file matching 'model.pt' was written.",
        "a file model.pt",
        "no such file",
    )


def test_file_that_does_not_load(files):
    feedback = check(
        files, SAVE.replace('torch.jit.script(model).save("model.pt")', 'open("model.pt", "w").write("hi")')
    )
    assert feedback.outcome == FAILED
    assert feedback.message.startswith("'model.pt' does not load as a torchscript: RuntimeError: ")


def test_file_with_other_weights(files):
    code = SAVE.replace('torch.jit.script(model).save("model.pt")', 'torch.jit.script(Net()).save("model.pt")')
    feedback = check(files, code)
    assert feedback.outcome == FAILED
    assert feedback.message == (
        "`the output of the model loaded from 'model.pt'` has the right shape but the wrong "
        "values. It should give the same outputs as `model`."
    )
    assert feedback.detail.startswith("Mismatched elements: ")
    assert "Greatest absolute difference: " in feedback.detail


# --------------------------------------------------------------------------- choice, combinators, custom


@pytest.fixture(scope="module")
def choice(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("choice"),
        """
        from graders.sct import SCT, multiple_choice
        sct = SCT(multiple_choice({1: "A Trainer does not change the model's code.",
                                   3: "fast_dev_run runs one batch, not the whole data."}))
    """,
        "answer = 2\n",
    )


def test_multiple_choice(choice):
    _passes(check(choice, "answer = 2\n"))
    _fails(check(choice, "answer = 1\n"), "A Trainer does not change the model's code.")
    _fails(check(choice, "answer = 3\n"), "fast_dev_run runs one batch, not the whole data.")
    _fails(
        check(choice, "answer = '2'\n"),
        "Set `answer` to the number of one option, 1 to 3.",
        "a whole number from 1 to 3",
        "'2'",
        1,
    )


@pytest.fixture(scope="module")
def either_way(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("correct"),
        """
        from graders.sct import SCT, correct, uses, variable
        sct = SCT(correct(variable("total").equals(),
                          diagnose=[uses("torch.sum", ".sum", msg="Sum the tensor with torch.sum or .sum().")]))
    """,
        "import torch\nt = torch.arange(5.0)\ntotal = t.sum()\n",
    )


def test_correct_passes_either_way(either_way):
    _passes(check(either_way, "import torch\nt = torch.arange(5.0)\ntotal = torch.tensor(10.0)\n"))
    _passes(check(either_way, "import torch\nt = torch.arange(5.0)\ntotal = torch.sum(t)\n"))


def test_correct_fails_with_the_diagnosis_first(either_way):
    _fails(
        check(either_way, "import torch\nt = torch.arange(5.0)\ntotal = t.mean()\n"),
        "Sum the tensor with torch.sum or .sum().",
    )


def test_correct_falls_back_to_the_checks_own_message(either_way):
    feedback = check(either_way, "import torch\nt = torch.arange(5.0)\ntotal = t.sum() + 1\n")
    _fails(
        feedback,
        "`total` has the wrong value.",
        "10.0 (tensor of shape (), dtype torch.float32)",
        "11.0 (tensor of shape (), dtype torch.float32)",
        3,
    )
    assert (
        feedback.detail
        == "Absolute difference: 1.0 (up to 1e-05 allowed)\nRelative difference: 0.1 (up to 1.3e-06 allowed)"
    )


@pytest.fixture(scope="module")
def customs(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("custom"),
        """
        from graders.sct import SCT, custom
        def _even(run):
            return run.ns["n"] % 2 == 0
        sct = SCT(custom(probe=_even, judge=lambda got, want, ctx: None if got else "`n` should be even."))
    """,
        "n = 4\n",
    )


def test_custom(customs):
    _passes(check(customs, "n = 10\n"))
    _fails(check(customs, "n = 3\n"), "`n` should be even.")


def test_sct_success_message(tmp_path):
    exercise = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("n").equals(), success="Right: n is 4.")
    """,
        "n = 4\n",
    )
    feedback = check(exercise, "n = 2 + 2\n")
    assert feedback.passed and feedback.message == "Right: n is 4."
    assert feedback.text() == "✓ 9.9.1 passed: Right: n is 4."


# --------------------------------------------------------------------------- known errors explained


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("explained"),
        r"""
        from graders.sct import SCT, variable
        sct = SCT(variable("y").equals(),
                  errors={r"must match the size of tensor b \(3\)": "Line the statistics up with the channels."})
    """,
        """
        import torch
        x = torch.ones(2, 3, 4, 4)
        y = x - torch.zeros(3).view(1, 3, 1, 1)
    """,
    )


def test_known_error_is_explained_with_the_original_kept(explained):
    feedback = check(
        explained,
        """
        import torch
        x = torch.ones(2, 3, 4, 4)
        y = x - torch.zeros(3)
    """,
    )
    assert feedback.outcome == "error"
    assert feedback.message == "Line the statistics up with the channels."
    assert feedback.line == 4  # the dedented code starts with an empty line
    assert feedback.detail.startswith("Your code raised RuntimeError on line 4: The size of tensor a (4) must match")


def test_other_errors_are_reported_as_they_are(explained):
    feedback = check(explained, "y = 1 / 0\n")
    assert feedback.outcome == "error"
    assert feedback.message == "Your code raised ZeroDivisionError on line 1: division by zero"
    _passes(
        check(
            explained,
            """
        import torch
        x = torch.ones(2, 3, 4, 4)
        y = x - torch.zeros(3).view(1, 3, 1, 1)
    """,
        )
    )


# --------------------------------------------------------------------------- classes and crashes


@pytest.fixture(scope="module")
def net_class(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("net_class"),
        """
        from graders.sct import SCT, module
        sct = SCT(module("Net()").output_shape())
    """,
        """
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3 * 32 * 32, 10)
            def forward(self, x):
                return self.fc(x.flatten(1))
    """,
    )


def test_module_check_builds_an_instance_of_a_learner_class(net_class):
    _passes(
        check(
            net_class,
            """
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
            def forward(self, x):
                return self.body(x)
    """,
        )
    )


def test_module_check_reports_a_class_that_cannot_be_built(net_class):
    feedback = check(
        net_class,
        """
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(3 * 32 * 32, 10)
    """,
    )
    _fails(
        feedback,
        "Evaluating `Net()` after your code raised AttributeError: cannot assign module before Module.__init__() call",
        line=5,
    )


@pytest.fixture(scope="module")
def no_manual_backward(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("no_backward"),
        """
        from graders.sct import SCT, avoids, variable
        sct = SCT(avoids(".backward", msg="Lightning calls backward for you."), variable("loss").equals())
    """,
        """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w * 2).sum()
    """,
    )


def test_a_source_check_names_the_cause_of_a_crash(no_manual_backward):
    feedback = check(
        no_manual_backward,
        """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w * 2).sum()
        loss.backward()
        loss.backward()
    """,
    )
    _fails(feedback, "Lightning calls backward for you.", line=5)
    assert feedback.detail.startswith("Your code raised RuntimeError on line 6: Trying to backward through the graph")


def test_a_crash_without_a_source_problem_is_reported_as_it_is(no_manual_backward):
    feedback = check(no_manual_backward, "loss = undefined_name\n")
    assert (feedback.outcome, feedback.message) == (
        "error",
        "Your code raised NameError on line 1: name 'undefined_name' is not defined",
    )


# --------------------------------------------------------------------------- a family as the README writes one


def _readme_family() -> str:
    """The example family of README's "Writing a check family", as it stands there."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text.split("### Writing a check family", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


LOADER_SOLUTION = """
import torch
from torch.utils.data import DataLoader, TensorDataset
loader = DataLoader(TensorDataset(torch.zeros(8, 1)), batch_size=4, shuffle=True)
"""


@pytest.fixture(scope="module")
def loaders(tmp_path_factory):
    sct = (
        _readme_family() + '\n\nfrom graders.sct import SCT\nsct = SCT(dataloader("loader").batch_size().shuffles())\n'
    )
    return make_exercise(tmp_path_factory.mktemp("loaders"), sct, LOADER_SOLUTION)


def test_readme_family_passes(loaders):
    _passes(check(loaders, LOADER_SOLUTION))


def test_readme_family_batch_size(loaders):
    _fails(
        check(loaders, LOADER_SOLUTION.replace("batch_size=4", "batch_size=2")),
        "`loader` serves batches of 2; the exercise's loader serves 4.",
        "4",
        "2",
        4,
    )


def test_readme_family_shuffles(loaders):
    _fails(
        check(loaders, LOADER_SOLUTION.replace("shuffle=True", "shuffle=False")),
        "`loader` serves the images in the same order every epoch: pass shuffle=True.",
        "RandomSampler",
        "SequentialSampler",
        4,
    )


def test_readme_family_subject(loaders):
    loader = "DataLoader(TensorDataset(torch.zeros(8, 1)), batch_size=4, shuffle=True)"
    _fails(
        check(loaders, LOADER_SOLUTION.replace(loader, "[1, 2]")),
        "`loader` should be a DataLoader.",
        "DataLoader",
        "list",
    )


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("bounded"),
        """
        from graders.sct import SCT, variable
        sct = SCT(variable("max_diff").at_most(1e-4))
    """,
        "import numpy as np\nmax_diff = float(np.abs(np.zeros(3) - 1e-6).max())\n",
    )


@pytest.mark.parametrize("code", ["import numpy as np\nmax_diff = np.float32(1e-5)\n", "max_diff = 0\n"])
def test_at_most_passes_for_a_number_within_the_bound(bounded, code):
    _passes(check(bounded, code))


@pytest.mark.parametrize(
    "code,got",
    [
        ("max_diff = 0.5\n", "0.5"),
        ("import torch\nmax_diff = torch.tensor(0.0)\n", "tensor(0.)"),
        ("max_diff = float('nan')\n", "nan"),
    ],
)
def test_at_most_fails_for_a_larger_value_or_not_a_number(bounded, code, got):
    _fails(
        check(bounded, code),
        f"`max_diff` should be a number of at most 0.0001; got {got}.",
        "at most 0.0001",
        got,
        code.count("\n"),
    )
