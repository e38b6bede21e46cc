"""SCT for 3.3.1, Export the model with `torch.export`."""

from graders.sct import SCT, exported_file, right, uses, wrong

sct = SCT(
    uses("torch.export.export", msg="Export with torch.export.export(model, example, dynamic_shapes=...)."),
    exported_file("model.pt2").reproduces(
        "model",
        batches=(1, 5),
        batch_msg="The exported program only accepts the batch size it was exported with: mark dimension 0 as "
        'dynamic, dynamic_shapes={"x": {0: Dim("batch")}}, so it runs on 1 image or 500.',
        msg="The .pt2 file does not reproduce the model in eval mode. An exported graph keeps "
        "the mode it was traced in, so dropout and batch-norm training behaviour were baked in. Call "
        "model.eval() before torch.export.export.",
        other_msg="The .pt2 file does not reproduce `model`: it gives the same outputs every time, so it was traced "
        "in evaluation mode, but from other weights. Export the trained `model` itself.",
    ),
    errors={
        r"Guard failed: x\.size\(\)\[0\] ==": "The exported program only accepts the batch size it was exported with, so the batch of 5 failed: mark "
        'dimension 0 as dynamic, dynamic_shapes={"x": {0: Dim("batch")}}.',
        r"specialized it to be a constant \(1\)": "An example batch of 1 cannot carry a dynamic batch dimension: torch.export treats size 1 as a special "
        "case and fixes it. Export from a batch of 2, images[:2], and the dimension stays dynamic.",
    },
)

cases = [
    wrong(
        "exports from a batch of one",
        replace={"example = (images[:2],)": "example = (images[:1],)"},
        says="Export from a batch of 2",
    ),
    wrong(
        "forgets the dynamic batch dimension",
        replace={', dynamic_shapes={"x": {0: Dim("batch")}}': ""},
        says="only accepts the batch size",
    ),
    wrong(
        "switches to evaluation mode only after exporting",
        replace={"model.eval()\n": "", "torch.export.save(": "model.eval()\ntorch.export.save("},
        says="Call model.eval() before",
    ),
    wrong(
        "exports a new, untrained model",
        replace={"torch.export.export(model,": "torch.export.export(SmallCNN().eval(),"},
        says="from other weights",
    ),
    right(
        "exports from random images of four with a bounded Dim.DYNAMIC batch, saves to a Path",
        replace={
            "example = (images[:2],)": "example = (torch.randn(4, 3, 32, 32),)",
            'dynamic_shapes={"x": {0: Dim("batch")}}': "dynamic_shapes=({0: Dim.DYNAMIC},)",
            'torch.export.save(exported, "model.pt2")': 'from pathlib import Path\ntorch.export.save(exported, Path("model.pt2"))',
            "model.eval()": "model.train(False)",
        },
    ),
    wrong("exports in training mode", replace={"model.eval()\n": ""}, says="Call model.eval() before"),
    wrong(
        "pickles the exported program with torch.save",
        replace={'torch.export.save(exported, "model.pt2")': 'torch.save(exported, "model.pt2")'},
        says="not written by torch.export.save",
    ),
    wrong(
        "passes the example batch without a tuple",
        replace={"torch.export.export(model, example,": "torch.export.export(model, images[:2],"},
        says="takes the example inputs as a tuple",
    ),
    right(
        "bounds the batch dimension and names the dynamic shapes by position",
        replace={'dynamic_shapes={"x": {0: Dim("batch")}}': 'dynamic_shapes=({0: Dim("batch", max=1024)},)'},
    ),
]
