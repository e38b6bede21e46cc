"""SCT for 1.1.2, Compare two images with a dot product."""
import torch

from graders.sct import SCT, avoids, custom, right, variable, wrong


def _shape_of(name):
    def probe(run):
        value = run.ns.get(name)
        return list(value.shape) if isinstance(value, torch.Tensor) else None
    return probe


def _is_one_number(got, want, ctx):
    if got is None:
        return "`similarity` should be a tensor: the result of torch.dot(u, v)."
    if got != []:
        return (f"`similarity` has shape {tuple(got)}, but a dot product is a single number. Multiplying u and v "
                "element-wise keeps all 3,072 products; a dot product also sums them: torch.dot(u, v).")
    return None


sct = SCT(
    avoids("for", "while", "comprehension",
           msg="No Python loop is needed: torch.dot multiplies and sums all 3,072 pairs in one call, in native "
               "code. A loop over the values runs one at a time in the interpreter and cannot use a GPU."),
    custom(probe=_shape_of("similarity"), judge=_is_one_number),
    variable("similarity").equals(rtol=1e-4, atol=1e-4, msg="`similarity` should be the dot product of u and v: "
                                                 "torch.dot(u, v)."),
    variable("length_u").equals(rtol=1e-4, atol=1e-4, msg="`length_u` should be the length of u, the square root of u "
                                               "dotted with itself: torch.sqrt(torch.dot(u, u))."),
    variable("cosine").equals(rtol=1e-4, atol=1e-4),
)

cases = [
    wrong("multiplies without summing", replace={"similarity = torch.dot(u, v)": "similarity = torch.mul(u, v)"},
          says="also sums them"),
    wrong("measures u's length against v", replace={"torch.dot(u, u)": "torch.dot(u, v)"},
          says="dotted with itself"),
    wrong("sums the products in a Python loop",
          replace={"similarity = torch.dot(u, v)": "similarity = sum(u[i] * v[i] for i in range(len(u)))"},
          says="No Python loop is needed"),
    right("uses the @ operator", replace={"similarity = torch.dot(u, v)": "similarity = u @ v"}),
]
