"""SCT for 4.3.3, When does torch.compile pay off?"""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            1: "A one-time cost is repaid only by steps that are faster. Here each compiled step takes 55 ms against 28 ms "
            "in eager mode, so the gap grows with every step: 1,000 steps take 28 s eager and 15 s + 55 s compiled.",
            2: "torch.compile compiles training steps too, backward included (through AOTAutograd); the question is "
            "only whether the measured steps get faster.",
            4: "Compiled code is not always faster: for a small model on a CPU there are few kernels to fuse, and the "
            "generated code can lose to eager PyTorch. The warm-up is the 15 s first step; a steady 55 ms after it is "
            "the compiled speed. Measure, then decide.",
        }
    )
)

cases = [
    wrong(
        "thinks a long run always repays compiling",
        replace={"answer = 3": "answer = 1"},
        says="repaid only by steps that are faster",
    ),
    wrong("thinks backward cannot be compiled", replace={"answer = 3": "answer = 2"}, says="backward included"),
    wrong("thinks compiled code is never slower", replace={"answer = 3": "answer = 4"}, says="not always faster"),
    right("writes the number with a comment", replace={"answer = 3": "answer = 3  # measure, then decide"}),
]
