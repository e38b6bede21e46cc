"""SCT for 3.2.1, Save the weights, not the object."""

from graders.sct import SCT, inference_model, right, variable, wrong
from graders.sct.observed import built_anew, built_in_code, loaded_file, predicted

PICKLED = (
    "torch.save(model) pickles the whole Python object, which ties the file to your code's classes and "
    "lets a file run code when it is loaded; since PyTorch 2.6, torch.load refuses such files "
    "(weights_only=True is the default). Save model.state_dict(), a plain dict of tensors, and load it into "
    "a new SmallCNN() with load_state_dict."
)

sct = SCT(
    variable("restored").instance_of(
        "SmallCNN", msg="`restored` should be a SmallCNN built in code, with the saved weights loaded into it."
    ),
    built_anew(
        "restored",
        "model",
        msg="`restored` is the trained `model` itself (or shares its weights), so "
        "nothing shows that the file can rebuild it: build a new SmallCNN() and load the saved weights into it.",
    ),
    inference_model("restored").in_eval_mode(),
    predicted(
        "restored",
        eval_mode=True,
        never_msg="`preds` must come from `restored`, the model rebuilt from the file.",
        training_msg="`restored` predicted in training mode and was switched to inference behaviour only afterwards: "
        "dropout zeroed activations at random, and batch norm replaced the saved running statistics with these "
        "images' own. Switch the mode before it predicts.",
    ),
    inference_model("restored").matches_weights("weights.pt"),
    loaded_file(
        "weights.pt",
        unread_msg=(
            "`restored` got its weights from memory (model.state_dict()), so 'weights.pt' was never read: a serving "
            'process has only the file. Load it with torch.load("weights.pt", weights_only=True).'
        ),
    ),
    built_in_code("restored"),
    inference_model("restored").reproduces(
        "model",
        msg="`restored` holds what 'weights.pt' holds, yet it does not predict what `model` predicts: the file holds "
        "other weights than the trained `model`'s. Save the state dict of `model` itself.",
    ),
    predicted(
        "restored",
        rows=8,
        grad=False,
        never_msg="`preds` must come from `restored`, the model rebuilt from the file.",
        rows_msg="Predict the classes of all eight `images`, in one batch: `restored` ran on {got}.",
    ),
    variable("preds").equals(
        msg=(
            "`preds` should be the predicted class of each of the eight images: the index of the largest of its ten "
            "scores, argmax(dim=1) of restored's outputs (expected {expected}, got {got})."
        )
    ),
    errors={
        r"Weights only load failed": PICKLED,
        r"No such file or directory: '[^']*weights\.pt'": (
            "torch.load found no 'weights.pt': save the weights there first, with torch.save(model.state_dict(), "
            '"weights.pt"), then load them from it.'
        ),
    },
)

cases = [
    wrong(
        "pickles the whole model and loads it back",
        replace={
            "torch.save(model.state_dict(), ": "torch.save(model, ",
            'restored = SmallCNN()\nrestored.load_state_dict(torch.load("weights.pt", weights_only=True))': 'restored = torch.load("weights.pt")',
        },
        says="since PyTorch 2.6, torch.load refuses such files",
    ),
    wrong(
        "pickles the whole model and silences the error with weights_only=False",
        replace={
            "torch.save(model.state_dict(), ": "torch.save(model, ",
            'restored = SmallCNN()\nrestored.load_state_dict(torch.load("weights.pt", weights_only=True))': 'restored = torch.load("weights.pt", weights_only=False)',
        },
        says="a pickled model does not",
    ),
    wrong(
        "loads the state dict with weights_only=False",
        replace={"weights_only=True": "weights_only=False"},
        says="loads 'weights.pt' with weights_only=False",
    ),
    wrong(
        "predicts while tracking gradients",
        replace={
            "with torch.inference_mode():\n    preds = restored(images)": "if True:\n    preds = restored(images)"
        },
        says="autograd recorded every operation",
    ),
    wrong(
        "reuses the trained model instead of building a new one",
        replace={"restored = SmallCNN()\n": "restored = model\n"},
        says="is the trained `model` itself",
    ),
    wrong(
        "loads the weights from memory, so the file is never read",
        replace={
            'restored.load_state_dict(torch.load("weights.pt", weights_only=True))': "restored.load_state_dict(model.state_dict())"
        },
        says="'weights.pt' was never read",
    ),
    wrong(
        "predicts on two of the images",
        replace={"preds = restored(images)": "preds = restored(images[:2])"},
        says="eight `images`",
    ),
    wrong(
        "keeps the scores instead of the classes",
        replace={"preds = restored(images).argmax(dim=1)": "preds = restored(images)"},
        says="the index of the largest of its ten scores",
    ),
    wrong(
        "never saves the file",
        replace={'torch.save(model.state_dict(), "weights.pt")\n': ""},
        says="found no 'weights.pt'",
    ),
    wrong("forgets eval()", replace={"restored.eval()\n": ""}, says="still in training mode"),
    wrong(
        "builds the model but never loads the weights",
        replace={'restored.load_state_dict(torch.load("weights.pt", weights_only=True))': 'torch.load("weights.pt")'},
        says="does not hold the weights saved in 'weights.pt'",
    ),
    wrong(
        "copies the trained model instead of building a new one",
        replace={"restored = SmallCNN()\n": "import copy\nrestored = copy.deepcopy(model)\n"},
        says="was never built in your code",
    ),
    wrong(
        "switches to inference behaviour only after predicting",
        replace={"restored.eval()\n": "", "    print(preds": "    restored.eval()\n    print(preds"},
        says="switched to inference behaviour only afterwards",
    ),
    wrong(
        "saves the weights of a new, untrained model",
        replace={"torch.save(model.state_dict()": "torch.save(SmallCNN().state_dict()"},
        says="the file holds other weights than the trained `model`'s",
    ),
    right(
        "loads the state dict into a variable first, reads the file through a file object, predicts in a function",
        replace={
            'restored.load_state_dict(torch.load("weights.pt", weights_only=True))': 'with open("weights.pt", "rb") as f:\n    state = torch.load(f, weights_only=True)\nrestored.load_state_dict(state)',
            "with torch.inference_mode():\n    preds = restored(images).argmax(dim=1)": "@torch.inference_mode()\ndef predict(m, x):\n    return torch.argmax(m(x), dim=1)\npreds = predict(restored, images)\nif True:",
        },
    ),
    right(
        "relies on the weights_only default and uses no_grad",
        replace={
            'torch.load("weights.pt", weights_only=True)': 'torch.load("weights.pt", map_location="cpu")',
            "torch.inference_mode()": "torch.no_grad()",
        },
    ),
    right(
        "builds the new model from the saved file with a path object and predicts class by class",
        replace={
            'torch.load("weights.pt", weights_only=True)': 'torch.load(Path("weights.pt"))',
            "restored = SmallCNN()": "from pathlib import Path\nrestored = SmallCNN()",
            "preds = restored(images).argmax(dim=1)": "logits = restored(images)\n    preds = logits.argmax(1)",
        },
    ),
]
