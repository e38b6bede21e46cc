"""SCT for 3.2.2, From a Lightning checkpoint to a plain module."""
from graders.sct import SCT, inference_model, right, variable, wrong

sct = SCT(
    variable("net").instance_of("SmallCNN", msg="`net` should be a plain SmallCNN, the nn.Module inside LitCNN: "
                                                "inference needs neither Lightning nor the training code."),
    inference_model("net").in_eval_mode(),
    inference_model("net").matches_weights(
        "trained.ckpt", key="state_dict", prefix="net.",
        msg="`net` does not hold the checkpoint's weights. load_state_dict(..., strict=False) skips every name that "
            "does not match instead of failing: drop the 'net.' prefix so that the names match, and load strictly."),
    variable("probs").equals(atol=1e-6, rtol=1e-5),
    errors={r'Unexpected key\(s\) in state_dict: "net\.':
            "The checkpoint's names start with 'net.', because LitCNN keeps the network in self.net, while SmallCNN's "
            "own names do not: remove the prefix with k.removeprefix(\"net.\") before load_state_dict.",
            r"KeyError: .?'?(net\.|features)": "A Lightning checkpoint keeps the weights under checkpoint[\"state_dict\"]."},
)

cases = [
    wrong("loads the checkpoint's names as they are",
          replace={'k.removeprefix("net.")': "k"}, says="The checkpoint's names start with 'net.'"),
    wrong("hides the mismatch with strict=False",
          replace={'k.removeprefix("net.")': "k", "net.load_state_dict(state)": "net.load_state_dict(state, strict=False)"},
          says="strict=False"),
    wrong("forgets eval()", replace={"net.eval()\n": ""}, says="still in training mode"),
    wrong("keeps the whole LightningModule",
          code='net = LitCNN.load_from_checkpoint("trained.ckpt").eval()\nwith torch.inference_mode():\n'
               '    probs = net(images).softmax(dim=1)\n', says="should be a plain SmallCNN"),
    right("takes the network out of load_from_checkpoint",
          code='net = LitCNN.load_from_checkpoint("trained.ckpt").net\nnet.eval()\nwith torch.inference_mode():\n'
               '    probs = net(images).softmax(dim=1)\n'),
]
