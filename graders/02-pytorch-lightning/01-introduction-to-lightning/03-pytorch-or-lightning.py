"""SCT for 2.1.3, Whose job is it, PyTorch's or Lightning's?"""
from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(multiple_choice({
    1: "Gradients still come from PyTorch's autograd: the Trainer only calls loss.backward() for you, "
       "at the right moment of the loop.",
    2: "Lightning has no layers or kernels of its own: your model is built from torch.nn layers, and runs "
       "exactly as fast as in plain PyTorch. Lightning organises the code; it does not speed up the maths.",
    4: "configure_optimizers returns an ordinary torch.optim optimizer. Lightning calls its zero_grad and step "
       "for you, but the optimizer itself is PyTorch's.",
}))

cases = [
    wrong("thinks Lightning computes the gradients", replace={"answer = 3": "answer = 1"}, says="autograd"),
    wrong("thinks Lightning makes the layers faster", replace={"answer = 3": "answer = 2"},
          says="it does not speed up the maths"),
    wrong("thinks Lightning replaces the optimizer", replace={"answer = 3": "answer = 4"},
          says="ordinary torch.optim optimizer"),
    right("writes the number with a comment", replace={"answer = 3": "answer = 3  # the Trainer runs the loop"}),
    wrong("answers with the number as text", replace={"answer = 3": "answer = \"3\""},
          says="Set `answer` to the number of one option"),
    wrong("answers with a number that is no option", replace={"answer = 3": "answer = 5"},
          says="a whole number from 1 to 4"),
    wrong("answers with a float", replace={"answer = 3": "answer = 3.0"},
          says="a whole number from 1 to 4"),
    wrong("answers True", replace={"answer = 3": "answer = True"}, says="Set `answer` to the number of one option"),
    right("converts a text answer to a number", replace={"answer = 3": "answer = int(\"3\")"}),
]
