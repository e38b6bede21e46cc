"""SCT for 3.2.1, Save the weights, not the object."""
from graders.sct import SCT, inference_model, right, variable, wrong

PICKLED = ("torch.save(model) pickles the whole Python object, which ties the file to your code's classes and "
           "lets a file run code when it is loaded; since PyTorch 2.6, torch.load refuses such files "
           "(weights_only=True is the default). Save model.state_dict(), a plain dict of tensors, and load it into "
           "a new SmallCNN() with load_state_dict.")

sct = SCT(
    variable("restored").instance_of("SmallCNN", msg="`restored` should be a SmallCNN built in code, with the "
                                                     "saved weights loaded into it."),
    inference_model("restored").in_eval_mode(),
    inference_model("restored").matches_weights("weights.pt"),
    inference_model("restored").reproduces("model"),
    variable("preds").equals(),
    errors={r"Weights only load failed": PICKLED},
)

cases = [
    wrong("pickles the whole model and loads it back",
          replace={"torch.save(model.state_dict(), ": "torch.save(model, ",
                   'restored = SmallCNN()\nrestored.load_state_dict(torch.load("weights.pt", weights_only=True))':
                   'restored = torch.load("weights.pt")'},
          says="since PyTorch 2.6, torch.load refuses such files"),
    wrong("pickles the whole model and silences the error with weights_only=False",
          replace={"torch.save(model.state_dict(), ": "torch.save(model, ",
                   'restored = SmallCNN()\nrestored.load_state_dict(torch.load("weights.pt", weights_only=True))':
                   'restored = torch.load("weights.pt", weights_only=False)'},
          says="a pickled model does not"),
    wrong("forgets eval()", replace={"restored.eval()\n": ""}, says="still in training mode"),
    wrong("builds the model but never loads the weights",
          replace={'restored.load_state_dict(torch.load("weights.pt", weights_only=True))': 'torch.load("weights.pt")'},
          says="does not hold the weights saved in 'weights.pt'"),
    right("relies on the weights_only default and uses no_grad",
          replace={'torch.load("weights.pt", weights_only=True)': 'torch.load("weights.pt", map_location="cpu")',
                   "torch.inference_mode()": "torch.no_grad()"}),
]
