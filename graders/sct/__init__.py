"""The SCT API: what an instructor writes in ``graders/<chapter>/<lesson>/<exercise>.py``.

An SCT is an ordered list of checks; the learner hears about the first that fails::

    sct = SCT(
        variable("trainer").instance_of("pytorch_lightning.Trainer"),
        trainer("trainer").settings(max_epochs=SOLUTION).fitted(),
        module("model").output_shape().trains(),
    )
    cases = [wrong("forgets to call fit", replace={"trainer.fit(": "print("}, says="was never fitted")]

Every check has two halves. ``probe`` runs in the sandbox after the learner's code and
returns plain data (shapes, tensors, names, numbers). ``judge`` runs in the trusted grader
process and compares the learner's data with the solution's, so nothing the learner's
code patches (``torch.allclose``, this module, ``builtins``) can change a verdict.

Checks judge what the code did, not only what it set. A check's ``before(run)`` runs in
the sandbox ahead of the set-up and installs instrumentation: ``trainer(...).ran(...)``
(batches, optimizer steps, validation batches, and which loader and model, from a
recorder on every Trainer), ``optimizer_steps()`` (the steps a plain PyTorch loop took), ``variable(...).computed_with(...)`` (the operations of the
learner's own code a tensor came from), ``variable(...).counterfactual(...)`` (the set-up
and the code run again with changed inputs: a pasted result does not follow), and ``custom(..., before=...)``. Values are
compared with the solution's: ``lightning_module(...).loss_value()``, ``.same_optimizer()``,
``module(...).initial_parameters()``, ``trainer(...).metric_values(...)``. Exceptions any
exercise can meet are explained (``COMMON_ERRORS``). The learner's code runs in a module
registered as ``__main__``, as in a notebook kernel.

One module per family of checks: ``values`` (variables and expressions), ``source``
(calls and operators used or avoided), ``output`` (printed text), ``models`` (nn.Module),
``lightning`` (LightningModule), ``training`` (the Trainer's settings and state) and ``ran``
(what its fits ran), ``steps`` (optimizer steps of a plain loop), ``files`` (saved models),
``choice`` (multiple choice), ``custom`` (``correct`` and ``custom``), ``cases`` (known
answers); ``core`` holds the framework they share, ``api`` the public helpers a family is
written with (``Family``, ``SubCheck``: README, "Writing a check family") and ``recorder``
the one recorder of training behind ``ran``, ``optimizer_steps`` and ``training_record``. For models in production:
``metrics`` (torchmetrics objects: settings, where they live, computed values),
``inference`` (a loaded model: eval mode, saved weights, outputs), ``exported``
(``.pt2`` and ONNX files that reproduce a model; ONNX Runtime sessions) and ``serving``
(a FastAPI app answering real requests through its TestClient). For scaling training:
``distributed`` (what each rank of a multi-process run did), ``performance`` (the precision a
run really used, its optimizer steps and batches), ``compression`` (size on disk, sparsity and
agreement of a compressed model), ``tracking`` (runs in an MLflow store, Optuna studies).
"""

from graders.feedback import Fail
from graders.sct.api import SOLUTION, Check, Ctx, cifar_batch
from graders.sct.cases import Case, right, wrong
from graders.sct.choice import multiple_choice
from graders.sct.compression import compressed, distillation_loss
from graders.sct.core import COMMON_ERRORS, SCT, load_module, load_sct
from graders.sct.custom import correct, custom
from graders.sct.distributed import ranks
from graders.sct.exported import exported_file, ort_options, ort_session
from graders.sct.files import file
from graders.sct.inference import inference_model
from graders.sct.lightning import lightning_module
from graders.sct.metrics import metric
from graders.sct.models import module
from graders.sct.output import printed
from graders.sct.performance import training_record
from graders.sct.serving import endpoint
from graders.sct.source import avoids, uses
from graders.sct.steps import optimizer_steps
from graders.sct.tracking import mlflow_runs, study
from graders.sct.training import trainer
from graders.sct.values import expression, variable

__all__ = [
    "SCT",
    "SOLUTION",
    "Check",
    "Ctx",
    "Case",
    "variable",
    "expression",
    "uses",
    "avoids",
    "printed",
    "module",
    "lightning_module",
    "trainer",
    "file",
    "multiple_choice",
    "correct",
    "custom",
    "wrong",
    "right",
    "Fail",
    "load_sct",
    "load_module",
    "cifar_batch",
    "COMMON_ERRORS",
    "optimizer_steps",
    "metric",
    "inference_model",
    "exported_file",
    "ort_session",
    "ort_options",
    "endpoint",
    "ranks",
    "training_record",
    "mlflow_runs",
    "study",
    "compressed",
    "distillation_loss",
]
