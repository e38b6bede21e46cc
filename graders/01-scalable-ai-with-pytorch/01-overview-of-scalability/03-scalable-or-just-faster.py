"""SCT for 1.1.3, Scalable or just faster?"""
from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(multiple_choice({
    1: "That is optimisation, not scalability: the same work on the same machine gets a little faster, once. "
       "With ten times the data the tuned loops still take about ten times as long, and they cannot use the "
       "new GPUs.",
    3: "That avoids growth instead of handling it: the model loses the extra data that would make it better, "
       "and the code is no more able to use more hardware than before.",
    4: "A faster clock speeds up the loops a little, once. Python loops handle one value at a time on one "
       "core, so they cannot spread the work over more cores or GPUs: the system still does not scale.",
}))

cases = [
    wrong("confuses optimisation with scalability", replace={"answer = 2": "answer = 1"},
          says="That is optimisation, not scalability"),
    wrong("shrinks the data", replace={"answer = 2": "answer = 3"}, says="avoids growth"),
    wrong("buys a faster CPU", replace={"answer = 2": "answer = 4"}, says="cannot spread the work"),
    wrong("answers with the option's text", replace={"answer = 2": "answer = \"vectorised tensor code\""},
          says="Set `answer` to the number of one option"),
    right("computes the option number", replace={"answer = 2": "answer = 1 + 1"}),
    wrong("answers with the number as text", replace={"answer = 2": "answer = \"2\""},
          says="Set `answer` to the number of one option"),
    wrong("answers with a number that is no option", replace={"answer = 2": "answer = 5"},
          says="a whole number from 1 to 4"),
    wrong("answers with a float", replace={"answer = 2": "answer = 2.0"},
          says="a whole number from 1 to 4"),
    wrong("answers True", replace={"answer = 2": "answer = True"}, says="Set `answer` to the number of one option"),
    right("converts a text answer to a number", replace={"answer = 2": "answer = int(\"2\")"}),
]
