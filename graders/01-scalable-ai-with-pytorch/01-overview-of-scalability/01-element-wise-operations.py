"""SCT for 1.1.1, Element-wise operations on CIFAR-10 pixels."""

from graders.sct import SCT, avoids, right, variable, wrong

sct = SCT(
    avoids(
        "for",
        "while",
        "comprehension",
        msg="No loop is needed: element-wise operations such as torch.mul work on all 3,072 values of an "
        "image in one call, in native code that can use several cores or a GPU. A Python loop visits "
        "one value at a time and cannot scale with the hardware.",
    ),
    variable("blend")
    .instance_of("torch.Tensor")
    .equals(
        msg="`blend` should be the pixel-wise average of a and b: add the two images with torch.add, then divide by 2."
    ),
    variable("diff").equals(
        msg="`diff` should be a - b. torch.sub(a, b) subtracts its second argument from its first, value by "
        "value, so the order matters."
    ),
    variable("dark").equals(
        msg="`dark` should be a with every pixel multiplied by 0.5: torch.mul(a, 0.5). Half the brightness "
        "multiplies by 0.5; dividing by 0.5 doubles it."
    ),
    variable("contrast").equals(
        msg="`contrast` should be every pixel of a squared. torch.pow(a, 2) raises each value to the power 2; "
        "torch.mul(a, 2) doubles it instead."
    ),
)

_BLEND = "torch.div(torch.add(a, b), 2)"

cases = [
    wrong("subtracts in the wrong order", replace={"torch.sub(a, b)": "torch.sub(b, a)"}, says="the order matters"),
    wrong("doubles instead of squaring", replace={"torch.pow(a, 2)": "torch.mul(a, 2)"}, says="doubles it instead"),
    wrong(
        "takes the square root instead of squaring",
        replace={"torch.pow(a, 2)": "torch.pow(a, 0.5)"},
        says="every pixel of a squared",
    ),
    wrong(
        "multiplies instead of adding for the blend",
        replace={_BLEND: "torch.div(torch.mul(a, b), 2)"},
        says="pixel-wise average",
    ),
    wrong("adds the images without halving the sum", replace={_BLEND: "torch.add(a, b)"}, says="pixel-wise average"),
    wrong("halves only the second image", replace={_BLEND: "torch.add(a, torch.div(b, 2))"}, says="pixel-wise average"),
    wrong(
        "floor-divides the sum, rounding every pixel down",
        replace={_BLEND: "torch.add(a, b) // 2"},
        says="pixel-wise average",
    ),
    wrong(
        "divides by 0.5, which brightens",
        replace={"torch.mul(a, 0.5)": "torch.div(a, 0.5)"},
        says="dividing by 0.5 doubles it",
    ),
    wrong(
        "darkens the second image",
        replace={"torch.mul(a, 0.5)": "torch.mul(b, 0.5)"},
        says="every pixel multiplied by 0.5",
    ),
    wrong(
        "darkens each channel in a Python loop",
        replace={"dark = torch.mul(a, 0.5)": "dark = torch.stack([torch.mul(channel, 0.5) for channel in a])"},
        says="No loop is needed",
    ),
    wrong(
        "squares the pixels one by one in a while loop",
        replace={
            "contrast = torch.pow(a, 2)": "contrast = a.clone().flatten()\ni = 0\nwhile i < 3072:\n"
            "    contrast[i] = contrast[i] ** 2\n    i += 1\n"
            "contrast = contrast.view(3, 32, 32)"
        },
        says="No loop is needed",
    ),
    right(
        "uses the operators", replace={_BLEND: "(a + b) / 2", "torch.sub(a, b)": "a - b", "torch.pow(a, 2)": "a ** 2"}
    ),
    right(
        "uses tensor methods",
        replace={
            _BLEND: "a.add(b).div(2)",
            "torch.sub(a, b)": "a.sub(b)",
            "torch.mul(a, 0.5)": "a.mul(0.5)",
            "torch.pow(a, 2)": "a.pow(2)",
        },
    ),
    right(
        "averages a stack and squares by multiplying",
        replace={_BLEND: "torch.stack([a, b]).mean(dim=0)", "torch.mul(a, 0.5)": "a / 2", "torch.pow(a, 2)": "a * a"},
    ),
]
