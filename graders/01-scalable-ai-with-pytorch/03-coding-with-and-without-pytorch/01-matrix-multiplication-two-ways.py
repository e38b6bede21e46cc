"""SCT for 1.3.1, Matrix multiplication, with and without PyTorch.

Only results are checked: the timings the code prints are noisy, so no verdict uses them."""
import torch

from graders.sct import SCT, custom, right, variable, wrong

_TOL = {"rtol": 1e-4, "atol": 1e-4}


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
        return ("`C_loops` has the wrong values. Entry [i][j] of a matrix product is row i of A times column j "
                "of B: sum A[i][k] * B[k][j] over k, so B's second index is j.")
    return None


def _product(run):
    a, b, c = (run.ns.get(name) for name in ("a", "b", "C_torch"))
    if not all(isinstance(t, torch.Tensor) for t in (a, b, c)):
        return None
    return {"C": c, "elementwise": a * b, "reversed": b @ a}


def _judge_product(got, want, ctx):
    if got is None:
        return "`C_torch` should be a tensor: the matrix product torch.matmul(a, b)."
    c = got["C"]
    if tuple(c.shape) == (16, 16) and torch.allclose(c, want["C"], **_TOL):
        return None
    if tuple(c.shape) == (16, 16) and torch.allclose(c, got["elementwise"], **_TOL):
        return ("`C_torch` is the element-wise product: torch.mul multiplies entries in the same position. "
                "A matrix product sums rows times columns: torch.matmul(a, b), or a @ b.")
    if tuple(c.shape) == (16, 16) and torch.allclose(c, got["reversed"], **_TOL):
        return "`C_torch` is b times a. Matrix products do not commute: compute torch.matmul(a, b)."
    return "`C_torch` should be the matrix product of a and b: torch.matmul(a, b)."


sct = SCT(
    custom(probe=_loops, judge=_judge_loops),
    custom(probe=_product, judge=_judge_product),
    variable("same").equals(msg="`same` should be True: the loop and tensor results must agree."),
)

cases = [
    wrong("indexes B with the row of A", replace={"B[k][j]": "B[k][i]"}, says="B's second index is j"),
    wrong("multiplies element-wise", replace={"torch.matmul(a, b)": "torch.mul(a, b)"},
          says="the element-wise product"),
    wrong("multiplies in the wrong order", replace={"torch.matmul(a, b)": "torch.matmul(b, a)"},
          says="do not commute"),
    right("uses the @ operator", replace={"torch.matmul(a, b)": "a @ b"}),
]
