"""SCT for 4.3.1, Train in mixed precision."""

from graders.sct import SCT, custom, right, trainer, training_record, wrong

_ALIASES = {"bf16": "bf16-mixed", "16": "16-mixed", 16: "16-mixed"}


def _choice_on_other_gpus(run):
    """The code's choice of precision, run again as if on a GPU with and without bfloat16."""
    import ast

    import torch

    from graders.sct.api import LEARNER_FILE

    assigns = [
        node
        for node in ast.parse(run.code).body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "precision" for t in node.targets)
    ]
    if not assigns:
        return None

    class Cuda:
        def __init__(self, bf16):
            self.bf16 = bf16

        def is_bf16_supported(self, *args, **kwargs):
            return self.bf16

        def __getattr__(self, name):
            return getattr(torch.cuda, name)

    class Torch:
        def __init__(self, bf16):
            self.cuda = Cuda(bf16)

        def __getattr__(self, name):
            return getattr(torch, name)

    choices = {}
    for gpu, bf16 in (("an older GPU", False), ("a recent GPU", True)):
        ns = {**run.ns, "torch": Torch(bf16), "device": torch.device("cuda")}
        try:
            exec(compile(ast.Module(body=assigns, type_ignores=[]), LEARNER_FILE, "exec"), ns)  # noqa: S102
        except Exception:
            return None  # the choice needs more than its own lines: not judged here
        value = ns.get("precision")
        choices[gpu] = _ALIASES.get(value, value) if isinstance(value, (str, int)) else repr(value)
    return choices


def _chooses_by_device(got, want, ctx):
    for gpu, choice in (got or {}).items():
        if want and want.get(gpu) != choice:
            return (
                f"On {gpu} your code would choose {choice!r}, not {want[gpu]!r}: the choice must follow the device. "
                "bfloat16 needs hardware support, which CPUs and GPUs since Ampere have; on an older GPU only "
                'float16 is fast, with the loss scaling of "16-mixed".'
            )
    return None


sct = SCT(
    trainer("trainer").kept_precision(
        msg=(
            'You asked for "16-mixed" on a CPU: Lightning warned that float16 mixed precision is not '
            'supported there and fell back to "bf16-mixed". Choose the precision by device: "bf16-mixed" '
            'on a CPU and on GPUs that support it, "16-mixed" only on older GPUs.'
        )
    ),
    training_record()
    .computed_in(
        msg=(
            "The forward pass computed in {got}, not in bfloat16: mixed precision was not on. Pass "
            "precision=precision to the Trainer."
        )
    )
    .weights_in("float32")
    .channels_last(),
    trainer("trainer").fitted(),
    custom(probe=_choice_on_other_gpus, judge=_chooses_by_device),
    errors={
        r"to\(\) received an invalid combination of arguments - got \(torch\.memory_format": (
            ".to() reads its positional arguments as a device or a dtype: a memory format goes in by keyword, "
            "memory_format=torch.channels_last."
        )
    },
)

cases = [
    wrong(
        "passes the memory format by position",
        replace={
            "CIFARClassifier().to(memory_format=torch.channels_last)": "CIFARClassifier().to(torch.channels_last)"
        },
        says="a memory format goes in by keyword",
    ),
    wrong(
        "chooses bfloat16 on every device",
        replace={
            'precision = "bf16-mixed" if device.type == "cpu" or torch.cuda.is_bf16_supported() else "16-mixed"': 'precision = "bf16-mixed"'
        },
        says="On an older GPU your code would choose 'bf16-mixed'",
    ),
    right(
        "names bfloat16 by its short alias and moves the model to the device in the same call",
        replace={
            '"bf16-mixed" if': '"bf16" if',
            "model = CIFARClassifier().to(memory_format=torch.channels_last)": "model = CIFARClassifier()\nmodel = model.to(device, memory_format=torch.channels_last)",
        },
    ),
    wrong(
        "asks for float16 on the CPU",
        replace={
            'precision = "bf16-mixed" if device.type == "cpu" or torch.cuda.is_bf16_supported() else "16-mixed"': 'precision = "16-mixed"'
        },
        says="Choose the precision by device",
    ),
    wrong(
        "casts the weights to bfloat16 as well",
        replace={'precision = "bf16-mixed" if': 'precision = "bf16-true" if'},
        says="casts the weights themselves",
    ),
    wrong(
        "never passes the precision to the Trainer",
        replace={"precision=precision, **QUIET)": "**QUIET)"},
        says="mixed precision was not on",
    ),
    wrong(
        "leaves the model in the default memory format",
        replace={"CIFARClassifier().to(memory_format=torch.channels_last)": "CIFARClassifier()"},
        says="channels-last",
    ),
    right(
        "tests for an older GPU instead",
        replace={
            'precision = "bf16-mixed" if device.type == "cpu" or torch.cuda.is_bf16_supported() else "16-mixed"': 'precision = "16-mixed" if device.type == "cuda" and not torch.cuda.is_bf16_supported() '
            'else "bf16-mixed"'
        },
    ),
    wrong(
        "trains in float32 and prints the precision it should have used",
        replace={"precision=precision, **QUIET)": "**QUIET)", "print(trainer.precision)": "print(precision)"},
        says="mixed precision was not on",
    ),
]
