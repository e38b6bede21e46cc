"""SCT for 3.2.2, From a Lightning checkpoint to a plain module."""

from graders.sct import SCT, inference_model, right, variable, wrong
from graders.sct.observed import built_anew, built_in_code, loaded_file, predicted

sct = SCT(
    variable("net").instance_of(
        "SmallCNN",
        msg="`net` should be a plain SmallCNN, the nn.Module inside LitCNN: "
        "inference needs neither Lightning nor the training code.",
    ),
    built_anew(
        "net",
        "model",
        msg="`net` is the trained `model` still in memory (or shares its weights), so the "
        "checkpoint was never used: a serving process starts with the file only. Build a new SmallCNN() and "
        "load the checkpoint's weights into it.",
    ),
    inference_model("net").in_eval_mode(),
    predicted(
        "net",
        eval_mode=True,
        training_msg="`net` predicted in training mode and was switched to evaluation mode only afterwards: dropout "
        "zeroed activations at random, and batch norm replaced the checkpoint's running statistics with these "
        "images' own. Switch the mode before it predicts.",
    ),
    inference_model("net").matches_weights(
        "trained.ckpt",
        key="state_dict",
        prefix="net.",
        msg="`net` does not hold the checkpoint's weights. load_state_dict(..., strict=False) skips every name that "
        "does not match instead of failing: drop the 'net.' prefix so that the names match, and load strictly.",
    ),
    loaded_file(
        "trained.ckpt",
        unread_msg=(
            "Your code never read 'trained.ckpt': the weights must come from the checkpoint, as they would in a serving "
            'process, not from a model still in memory. torch.load("trained.ckpt", weights_only=True) opens it.'
        ),
        unsafe_msg="Load the checkpoint with weights_only=True: its weights are tensors in plain dicts, which the "
        "safe loader reads, and weights_only=False would run whatever code a file carries.",
    ),
    built_in_code(
        "net",
        msg="`net` is a copy of a model that already held trained weights, not a new SmallCNN: nothing shows that "
        "the checkpoint alone can rebuild the network, as it must in a serving process. Build SmallCNN() and load "
        "the checkpoint's weights into it.",
    ),
    variable("probs").equals(atol=1e-6, rtol=1e-5),
    errors={
        r'Unexpected key\(s\) in state_dict: "(epoch|global_step|state_dict|pytorch-lightning_version)': "A Lightning "
        "checkpoint is more than a state dict: its top level holds the epoch, the loops' progress and the "
        "optimizer's state, and the weights sit under one of its keys. Print checkpoint.keys() to find it.",
        r'Unexpected key\(s\) in state_dict: "net\.': "The checkpoint's names start with 'net.', because LitCNN keeps the network in self.net, while SmallCNN's "
        'own names do not: remove the prefix with k.removeprefix("net.") before load_state_dict.',
        r"KeyError: .?'?(net\.|features)": 'A Lightning checkpoint keeps the weights under checkpoint["state_dict"].',
    },
)

cases = [
    wrong(
        "loads the whole checkpoint as if it were the weights",
        replace={'checkpoint["state_dict"].items()': "checkpoint.items()"},
        says="A Lightning checkpoint is more than a state dict",
    ),
    wrong(
        "switches to evaluation mode only after predicting",
        replace={"net.eval()\n": "", "print(probs": "net.eval()\nprint(probs"},
        says="switched to evaluation mode only afterwards",
    ),
    wrong(
        "copies the trained model instead of building a new SmallCNN",
        replace={"net = SmallCNN()": "import copy\nnet = copy.deepcopy(model)"},
        says="is a copy of a model that already held trained weights",
    ),
    right(
        "slices the prefix off, loads with strict=False and checks the result, chains eval()",
        replace={
            '{k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items()}': '{k[len("net."):]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}',
            "net.load_state_dict(state)": "missing, unexpected = net.load_state_dict(state, strict=False)\nassert not missing and not unexpected",
            "net.eval()": "net = net.eval()",
        },
    ),
    wrong(
        "loads the checkpoint's names as they are",
        replace={'k.removeprefix("net.")': "k"},
        says="The checkpoint's names start with 'net.'",
    ),
    wrong(
        "hides the mismatch with strict=False",
        replace={
            'k.removeprefix("net.")': "k",
            "net.load_state_dict(state)": "net.load_state_dict(state, strict=False)",
        },
        says="strict=False",
    ),
    wrong("forgets eval()", replace={"net.eval()\n": ""}, says="still in training mode"),
    wrong(
        "keeps the whole LightningModule",
        code='net = LitCNN.load_from_checkpoint("trained.ckpt").eval()\nwith torch.inference_mode():\n'
        "    probs = net(images).softmax(dim=1)\n",
        says="should be a plain SmallCNN",
    ),
    wrong(
        "takes the trained model from memory",
        replace={"net = SmallCNN()\nnet.load_state_dict(state)\n": "net = model\n"},
        says="is the trained `model` still in memory",
    ),
    wrong(
        "copies the weights from memory, never reading the checkpoint",
        replace={
            'checkpoint = torch.load("trained.ckpt", weights_only=True)\n': "",
            'checkpoint["state_dict"].items()': "model.state_dict().items()",
        },
        says="never read 'trained.ckpt'",
    ),
    wrong(
        "loads the checkpoint with weights_only=False",
        replace={"weights_only=True": "weights_only=False"},
        says="Load the checkpoint with weights_only=True",
    ),
    right(
        "takes the network out of load_from_checkpoint",
        code='net = LitCNN.load_from_checkpoint("trained.ckpt").net\nnet.eval()\nwith torch.inference_mode():\n'
        "    probs = net(images).softmax(dim=1)\n",
    ),
]
