"""SCT for 1.1.1, Element-wise operations on CIFAR-10 pixels."""
from graders.sct import SCT, avoids, right, variable, wrong

sct = SCT(
    avoids("for", "while", "comprehension",
           msg="No loop is needed: element-wise operations such as torch.mul work on all 3,072 values of an "
               "image in one call, in native code that can use several cores or a GPU. A Python loop visits "
               "one value at a time and cannot scale with the hardware."),
    variable("blend").instance_of("torch.Tensor").equals(
        msg="`blend` should be the pixel-wise average of a and b: add the two images with torch.add, then "
            "divide by 2."),
    variable("diff").equals(
        msg="`diff` should be a - b. torch.sub(a, b) subtracts its second argument from its first, value by "
            "value, so the order matters."),
    variable("dark").equals(
        msg="`dark` should be a with every pixel multiplied by 0.5: torch.mul(a, 0.5)."),
    variable("contrast").equals(
        msg="`contrast` should be every pixel of a squared. torch.pow(a, 2) raises each value to the power 2; "
            "torch.mul(a, 2) doubles it instead."),
)

cases = [
    wrong("subtracts in the wrong order", replace={"torch.sub(a, b)": "torch.sub(b, a)"}, says="the order matters"),
    wrong("doubles instead of squaring", replace={"torch.pow(a, 2)": "torch.mul(a, 2)"}, says="doubles it instead"),
    wrong("multiplies instead of adding for the blend", replace={"torch.div(torch.add(a, b), 2)":
                                                                 "torch.div(torch.mul(a, b), 2)"},
          says="pixel-wise average"),
    wrong("darkens each channel in a Python loop",
          replace={"dark = torch.mul(a, 0.5)": "dark = torch.stack([torch.mul(channel, 0.5) for channel in a])"},
          says="No loop is needed"),
    right("uses the operators", replace={"torch.div(torch.add(a, b), 2)": "(a + b) / 2",
                                         "torch.sub(a, b)": "a - b", "torch.pow(a, 2)": "a ** 2"}),
    right("uses the tensor methods", replace={"torch.div(torch.add(a, b), 2)": "a.add(b).div(2)",
                                              "torch.sub(a, b)": "a.sub(b)", "torch.mul(a, 0.5)": "a.mul(0.5)",
                                              "torch.pow(a, 2)": "a.pow(2)"}),
]
