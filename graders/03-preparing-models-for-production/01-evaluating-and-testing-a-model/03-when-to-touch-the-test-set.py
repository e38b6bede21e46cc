"""SCT for 3.1.3, When to touch the test set."""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            1: "Choosing the best of four on the test set makes the test set part of the choice: the winner is partly "
            "the model that got lucky on those images, so its test accuracy is too optimistic. Choose on validation.",
            2: "The model never trained on the validation images, but you chose it because it scored best on them: the "
            "best of four scores is partly luck, so it overstates the accuracy on new images. Report the test set, once.",
            3: "Picking on a set makes its accuracy optimistic, however many images it has: after the merge nothing is "
            "left that played no part in the choice. Keep the test set out of every decision.",
        }
    )
)

cases = [
    wrong("selects the model on the test set", replace={"answer = 4": "answer = 1"}, says="too optimistic"),
    wrong("reports the validation score it selected on", replace={"answer = 4": "answer = 2"}, says="partly luck"),
    wrong(
        "merges validation into test",
        replace={"answer = 4": "answer = 3"},
        says="Keep the test set out of every decision",
    ),
    right("writes the number with a comment", replace={"answer = 4": "answer = 4  # validate to choose, test once"}),
]
