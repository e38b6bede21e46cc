"""SCT for 4.3.3, When does torch.compile pay off?"""
from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(multiple_choice({
    1: "Compiled code is not always faster: here each compiled step took 55 ms against 28 ms in eager mode. And "
       "the first-step cost comes back in every new process whose cache is cold, such as each new job.",
    2: "Nothing forbids it: the generated code can be slower than eager PyTorch for a small model on a CPU, "
       "where there are few kernels to fuse. That is why you measure before and after.",
    4: "torch.compile compiles training steps too, backward included (through AOTAutograd); the question is "
       "only whether the measured steps get faster.",
}))

cases = [
    wrong("thinks compiling always helps", replace={"answer = 3": "answer = 1"}, says="not always faster"),
    wrong("distrusts the measurement", replace={"answer = 3": "answer = 2"}, says="measure before and after"),
    wrong("thinks backward cannot be compiled", replace={"answer = 3": "answer = 4"}, says="backward included"),
    right("writes the number with a comment", replace={"answer = 3": "answer = 3  # measure, then decide"}),
]
