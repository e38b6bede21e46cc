"""SCT for 1.1.3, Scalable or just faster?"""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            1: "That is optimisation, not scalability: the same work on the same machine gets 20% faster, once. With ten "
            "times the data the tuned loops still take about ten times as long, and they cannot use the new GPUs.",
            2: "Hardware helps only code that can use it. The unchanged script preprocesses in Python loops on one CPU core "
            "and trains on one device, so a bigger GPU mostly waits for the loops and the other new GPUs sit idle.",
            4: "Eight models that each see an eighth of the data are eight weaker models, not one model trained on all of "
            "it. Scaling over GPUs trains one model: each GPU works on its own share of every batch, and the gradients "
            "are combined.",
        }
    )
)

cases = [
    wrong(
        "confuses optimisation with scalability",
        replace={"answer = 3": "answer = 1"},
        says="That is optimisation, not scalability",
    ),
    wrong(
        "thinks bigger hardware alone scales",
        replace={"answer = 3": "answer = 2"},
        says="Hardware helps only code that can use it",
    ),
    wrong("trains separate models instead of one", replace={"answer = 3": "answer = 4"}, says="eight weaker models"),
    wrong(
        "answers with the option's text",
        replace={"answer = 3": 'answer = "vectorised tensor code"'},
        says="Set `answer` to the number of one option",
    ),
    right("computes the option number", replace={"answer = 3": "answer = 1 + 2"}),
    wrong(
        "answers with the number as text",
        replace={"answer = 3": 'answer = "3"'},
        says="Set `answer` to the number of one option",
    ),
    wrong(
        "answers with a number that is no option",
        replace={"answer = 3": "answer = 5"},
        says="a whole number from 1 to 4",
    ),
    wrong("answers with a float", replace={"answer = 3": "answer = 3.0"}, says="a whole number from 1 to 4"),
    wrong("answers True", replace={"answer = 3": "answer = True"}, says="Set `answer` to the number of one option"),
    right("converts a text answer to a number", replace={"answer = 3": 'answer = int("3")'}),
]
