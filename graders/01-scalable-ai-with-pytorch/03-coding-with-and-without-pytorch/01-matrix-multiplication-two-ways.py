"""SCT for 1.3.1, Matrix multiplication, with and without PyTorch.

Only results are checked: the timings the code prints are noisy, so no verdict uses them.
Where each result came from is checked too: `C_loops` must be built by Python loops, and
`C_torch` by a matrix product of the code's own (the operation tracer's lineage), so a copy
of one result into the other fails although its values are right."""

import ast

import torch

from graders.sct import SCT, Fail, custom, right, variable, wrong

_TOL = {"rtol": 1e-4, "atol": 1e-4}


def _assigned(ctx, name):
    return [
        node
        for node in ast.walk(ctx.tree)
        if isinstance(node, (ast.Assign, ast.AugAssign))
        and any(
            isinstance(n, ast.Name) and n.id == name
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            for n in ast.walk(t)
        )
    ]


def _loops_are_python(got, want, ctx):
    """`C_loops` is the plain-Python version: a loop or comprehension must build it."""
    nodes = _assigned(ctx, "C_loops")
    has_loop = any(isinstance(n, (ast.For, ast.While, ast.ListComp, ast.GeneratorExp)) for n in ast.walk(ctx.tree))
    uses_torch = [
        n
        for n in nodes
        for c in ast.walk(n.value)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "tolist"
    ]
    if nodes and (uses_torch or not has_loop):
        return Fail(
            "`C_loops` should be computed by nested Python loops over the lists A and B: converting the "
            "tensor result with tolist() skips the plain-Python version this exercise compares against.",
            line=nodes[0].lineno,
        )
    return None


def _loops(run):
    value = run.ns.get("C_loops")
    try:
        return torch.tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None


def _judge_loops(got, want, ctx):
    if got is None or tuple(got.shape) != (16, 16):
        return "`C_loops` should be a list of 16 rows of 16 numbers, built by the nested loops."
    if not torch.allclose(got, want, **_TOL):
        if "B[k][j]" in ctx.code:
            return (
                "`C_loops` has the wrong values. Entry [i][j] sums A[i][k] * B[k][j] over all 16 values of k: "
                "check the range of k and that the products are summed."
            )
        return (
            "`C_loops` has the wrong values. Entry [i][j] of a matrix product is row i of A times column j "
            "of B: sum A[i][k] * B[k][j] over k, so B's second index is j."
        )
    return None


def _product(run):
    a, b, c = (run.ns.get(name) for name in ("a", "b", "C_torch"))
    if not all(isinstance(t, torch.Tensor) for t in (a, b, c)):
        return None
    return {"C": c, "elementwise": a * b, "reversed": b @ a, "transposed": a @ b.T}


def _judge_product(got, want, ctx):
    if got is None:
        return "`C_torch` should be a tensor: the matrix product torch.matmul(a, b)."
    c = got["C"]
    if tuple(c.shape) == (16, 16) and torch.allclose(c, want["C"], **_TOL):
        return None
    if tuple(c.shape) == (16, 16) and torch.allclose(c, got["elementwise"], **_TOL):
        return (
            "`C_torch` is the element-wise product: torch.mul multiplies entries in the same position. "
            "A matrix product sums rows times columns: torch.matmul(a, b), or a @ b."
        )
    if tuple(c.shape) == (16, 16) and torch.allclose(c, got["reversed"], **_TOL):
        return "`C_torch` is b times a. Matrix products do not commute: compute torch.matmul(a, b)."
    if tuple(c.shape) == (16, 16) and torch.allclose(c, got["transposed"], **_TOL):
        return "`C_torch` multiplies a by b transposed: the product takes b as it is, torch.matmul(a, b)."
    return "`C_torch` should be the matrix product of a and b: torch.matmul(a, b)."


def _same_is_computed(got, want, ctx):
    """`same` is the comparison's result, not a value typed in."""
    for node in _assigned(ctx, "same"):
        if isinstance(node.value, ast.Constant):
            return Fail(
                "`same` should be the result of comparing the two versions, torch.allclose(...), not a "
                "value typed in: the point is to check that they agree.",
                line=node.lineno,
            )
    return None


sct = SCT(
    custom(judge=_loops_are_python),
    custom(probe=_loops, judge=_judge_loops),
    variable("C_loops").counterfactual(
        "x = x.flip(0)",
        "the images in reverse order",
        rtol=1e-4,
        atol=1e-4,
        msg="`C_loops` does not follow the inputs: run on other images, your loops give the same numbers, so they "
        "copy a result instead of computing A times B. Build each entry from A[i][k] * B[k][j].",
    ),
    custom(probe=_product, judge=_judge_product),
    variable("C_torch").computed_with(
        "matmul",
        "mm",
        "einsum",
        msg="`C_torch` has the right values but your code did not compute it with a matrix product: it is a copy "
        "of another result (torch.tensor(C_loops), say). Compute it from a and b with one PyTorch call, "
        "torch.matmul(a, b), so the timing measures PyTorch.",
    ),
    custom(judge=_same_is_computed),
    variable("same").equals(msg="`same` should be True: the loop and tensor results must agree."),
)

_LOOPS = """C_loops = [[sum(A[i][k] * B[k][j] for k in range(16)) for j in range(16)]
           for i in range(16)]"""


def _pasted_product() -> str:
    """The loop result as a learner would paste it from an earlier output."""
    from course.core.data import load_tensors

    x, _ = load_tensors("train", n=64)
    rows = (x[0, 0, :16, :16] @ x[1, 0, :16, :16]).tolist()
    return "[" + ",\n ".join("[" + ", ".join(f"{v:.6f}" for v in row) + "]" for row in rows) + "]"


cases = [
    wrong("indexes B with the row of A", replace={"B[k][j]": "B[k][i]"}, says="B's second index is j"),
    wrong("reads B by rows instead of columns", replace={"B[k][j]": "B[j][k]"}, says="B's second index is j"),
    wrong(
        "sums over only 15 values of k",
        replace={"for k in range(16)": "for k in range(15)"},
        says="over all 16 values of k",
    ),
    wrong(
        "loops over a pasted copy of the result",
        replace={_LOOPS: "SAVED = " + _pasted_product() + "\nC_loops = [[v for v in row] for row in SAVED]"},
        says="`C_loops` does not follow the inputs",
    ),
    wrong(
        "converts the tensor result instead of looping",
        replace={_LOOPS: "C_loops = torch.matmul(a, b).tolist()"},
        says="nested Python loops",
    ),
    wrong(
        "multiplies element-wise", replace={"torch.matmul(a, b)": "torch.mul(a, b)"}, says="the element-wise product"
    ),
    wrong(
        "multiplies element-wise with *",
        replace={"C_torch = torch.matmul(a, b)": "C_torch = a * b"},
        says="the element-wise product",
    ),
    wrong("multiplies in the wrong order", replace={"torch.matmul(a, b)": "torch.matmul(b, a)"}, says="do not commute"),
    wrong("multiplies by b transposed", replace={"torch.matmul(a, b)": "torch.matmul(a, b.T)"}, says="b transposed"),
    wrong(
        "copies the loop result instead of multiplying",
        replace={"C_torch = torch.matmul(a, b)": "C_torch = torch.tensor(C_loops)"},
        says="did not compute it with a matrix product",
    ),
    wrong(
        "types in True instead of comparing",
        replace={"same = torch.allclose(torch.tensor(C_loops), C_torch, atol=1e-4)": "same = True"},
        says="not a value typed in",
    ),
    right("uses the @ operator", replace={"torch.matmul(a, b)": "a @ b"}),
    right(
        "uses torch.mm and compares with a tolerance of its own",
        replace={"torch.matmul(a, b)": "torch.mm(a, b)", "atol=1e-4)": "rtol=1e-5, atol=1e-5)"},
    ),
    right(
        "writes the loops out and sums with einsum",
        replace={
            _LOOPS: "C_loops = []\nfor i in range(16):\n    row = []\n    for j in range(16):\n"
            "        total = 0.0\n        for k in range(16):\n            total += A[i][k] * B[k][j]\n"
            "        row.append(total)\n    C_loops.append(row)",
            "torch.matmul(a, b)": 'torch.einsum("ik,kj->ij", a, b)',
        },
    ),
]
