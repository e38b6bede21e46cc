"""SCT for 2.1.3, Whose job is it, PyTorch's or Lightning's?"""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            2: "Gradients still come from PyTorch's autograd: the Trainer calls loss.backward() on the loss your "
            "training_step returns, at the right moment of the loop. Lightning has no differentiation engine of its own.",
            3: "With Lightning's automatic optimisation, training_step only returns the loss: the Trainer calls zero_grad, "
            "backward and the optimizer's step for you. Call backward yourself as well and it runs twice on one graph: "
            "PyTorch stops with 'Trying to backward through the graph a second time'.",
            4: "configure_optimizers returns an ordinary torch.optim optimizer, such as torch.optim.SGD. Lightning calls "
            "its zero_grad and step for you, but the optimizer itself is PyTorch's.",
        }
    )
)

cases = [
    wrong("thinks Lightning computes the gradients", replace={"answer = 1": "answer = 2"}, says="autograd"),
    wrong(
        "thinks training_step still calls backward and step",
        replace={"answer = 1": "answer = 3"},
        says="training_step only returns the loss",
    ),
    wrong(
        "thinks Lightning replaces the optimizer",
        replace={"answer = 1": "answer = 4"},
        says="ordinary torch.optim optimizer",
    ),
    right("writes the number with a comment", replace={"answer = 1": "answer = 1  # the Trainer runs the loop"}),
    wrong(
        "answers with the number as text",
        replace={"answer = 1": 'answer = "1"'},
        says="Set `answer` to the number of one option",
    ),
    wrong(
        "answers with a number that is no option",
        replace={"answer = 1": "answer = 5"},
        says="a whole number from 1 to 4",
    ),
    wrong("answers with a float", replace={"answer = 1": "answer = 1.0"}, says="a whole number from 1 to 4"),
    wrong("answers True", replace={"answer = 1": "answer = True"}, says="Set `answer` to the number of one option"),
    right("converts a text answer to a number", replace={"answer = 1": 'answer = int("1")'}),
]
