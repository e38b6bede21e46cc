"""SCT for 3.1.3, When to touch the test set."""
from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(multiple_choice({
    1: "Choosing the best of four on the test set makes the test set part of the choice: the winner is partly "
       "the model that got lucky on those images, so its test accuracy is too optimistic. Choose on validation.",
    3: "The lowest training loss often belongs to the model that overfits most. Training loss says how well a "
       "model fits images it has seen, not how it does on new ones: choose on validation, then test once.",
    4: "Picking on a set makes its accuracy optimistic, however many images it has: after the merge nothing is "
       "left that played no part in the choice. Keep the test set out of every decision.",
}))

cases = [
    wrong("selects the model on the test set", replace={"answer = 2": "answer = 1"}, says="too optimistic"),
    wrong("selects on training loss", replace={"answer = 2": "answer = 3"}, says="overfits most"),
    wrong("merges validation into test", replace={"answer = 2": "answer = 4"},
          says="Keep the test set out of every decision"),
    right("writes the number with a comment", replace={"answer = 2": "answer = 2  # validate to choose, test once"}),
]
