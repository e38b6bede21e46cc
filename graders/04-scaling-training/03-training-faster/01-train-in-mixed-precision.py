"""SCT for 4.3.1, Train in mixed precision."""

from graders.sct import SCT, right, trainer, training_record, wrong

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
)

cases = [
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
