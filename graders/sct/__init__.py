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

One module per family of checks: ``values`` (variables and expressions), ``source``
(calls and operators used or avoided), ``output`` (printed text), ``models`` (nn.Module and
LightningModule), ``training`` (the Trainer), ``files`` (saved and exported models),
``choice`` (multiple choice), ``custom`` (``correct`` and ``custom``), ``cases`` (known
answers); ``core`` holds the framework they share. For models in production:
``metrics`` (torchmetrics objects: settings, where they live, computed values),
``inference`` (a loaded model: eval mode, saved weights, outputs), ``exported``
(``.pt2`` and ONNX files that reproduce a model; ONNX Runtime sessions) and ``serving``
(a FastAPI app answering real requests through its TestClient).
"""
from graders.feedback import Fail
from graders.sct.cases import Case, right, wrong
from graders.sct.choice import multiple_choice
from graders.sct.core import SCT, SOLUTION, Check, Ctx, cifar_batch, load_module, load_sct
from graders.sct.custom import correct, custom
from graders.sct.exported import exported_file, ort_options, ort_session
from graders.sct.files import file
from graders.sct.inference import inference_model
from graders.sct.metrics import metric
from graders.sct.models import lightning_module, module
from graders.sct.output import printed
from graders.sct.serving import endpoint
from graders.sct.source import avoids, uses
from graders.sct.training import trainer
from graders.sct.values import expression, variable

__all__ = ["SCT", "SOLUTION", "Check", "Ctx", "Case", "variable", "expression", "uses", "avoids", "printed",
           "module", "lightning_module", "trainer", "file", "multiple_choice", "correct", "custom", "wrong",
           "right", "Fail", "load_sct", "load_module", "cifar_batch", "metric", "inference_model", "exported_file",
           "ort_session", "ort_options", "endpoint"]
