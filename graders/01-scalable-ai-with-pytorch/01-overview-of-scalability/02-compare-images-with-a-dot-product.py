"""SCT for 1.1.2, Compare images with dot products."""

import torch

from graders.sct import SCT, Fail, avoids, custom, right, variable, wrong

_TOL = {"rtol": 1e-4, "atol": 1e-4}


def _shape_of(name):
    def probe(run):
        value = run.ns.get(name)
        return list(value.shape) if isinstance(value, torch.Tensor) else None

    return probe


def _is_one_number(got, want, ctx):
    if got is None:
        return "`similarity` should be a tensor: the result of torch.dot(u, v)."
    if got != []:
        return (
            f"`similarity` has shape {tuple(got)}, but a dot product is a single number. Multiplying u and v "
            "element-wise keeps all 3,072 products; a dot product also sums them: torch.dot(u, v)."
        )
    return None


def _cosine_parts(run):
    """The learner's cosine and the values it should be built from, as plain floats."""
    parts = {}
    for name in ("cosine", "similarity", "length_u", "length_v"):
        value = run.ns.get(name)
        if not (isinstance(value, torch.Tensor) and value.numel() == 1):
            return None if name == "cosine" else {"cosine": parts.get("cosine")}
        parts[name] = float(value)
    return parts


def _on_line(name, judge):
    """Point a judge's message at the line that assigns ``name``."""

    def wrapped(got, want, ctx):
        message = judge(got, want, ctx)
        return None if message is None else Fail(message, line=ctx.assignment_line(name))

    return wrapped


def _judge_cosine(got, want, ctx):
    if got is None or got.get("cosine") is None:
        return "`cosine` should be a single number: similarity / (length_u * length_v)."
    c, s = got["cosine"], want["similarity"]
    lu, lv = want["length_u"], want["length_v"]

    def near(value):
        return abs(c - value) <= 1e-4 * max(1.0, abs(value))

    if near(want["cosine"]):
        return None
    if near(s / lu * lv):
        return (
            "`cosine` divides by length_u and then multiplies by length_v: / and * run left to right. "
            "Put the product of the lengths in parentheses: similarity / (length_u * length_v)."
        )
    if near(s / (lu + lv)):
        return (
            "`cosine` divides by the sum of the lengths. Cosine similarity divides by their product, "
            "length_u * length_v, so that it is 1.0 for two vectors that point the same way."
        )
    if near(s / lu) or near(s / lv):
        return (
            "`cosine` divides by one length only. Divide by both, their product length_u * length_v, so "
            "that the score does not depend on how bright either image is."
        )
    if near(s):
        return (
            "`cosine` is the raw dot product. Divide it by the product of the lengths, "
            "similarity / (length_u * length_v), to get a score between -1 and 1."
        )
    return f"`cosine` should be similarity / (length_u * length_v), about {want['cosine']:.4f}; yours is {c:.4f}."


def _judge_flat(got, want, ctx):
    if got is None:
        return "`flat` should be a tensor: the batch flattened from axis 1, images.flatten(start_dim=1)."
    if got != want:
        return (
            f"`flat` has shape {tuple(got)}, but it should keep the batch axis and hold one row of 3,072 "
            f"values per image, {tuple(want)}: flatten from axis 1, images.flatten(start_dim=1)."
        )
    return None


_FLAT_ERRORS = (
    "`flat` does not have one row of 3,072 values per image, so `flat @ u` cannot multiply it by u. "
    "flatten(start_dim=k) merges axis k and every axis after it: start at axis 1, so that axis 0, "
    "the images, stays."
)

sct = SCT(
    avoids(
        "for",
        "while",
        "comprehension",
        msg="No Python loop is needed: torch.dot multiplies and sums all 3,072 pairs in one call, and "
        "flat @ u does it for all 256 images at once, in native code. A loop runs one value or one image "
        "at a time in the interpreter and cannot use a GPU.",
    ),
    custom(probe=_shape_of("similarity"), judge=_on_line("similarity", _is_one_number)),
    variable("similarity").equals(**_TOL, msg="`similarity` should be the dot product of u and v: torch.dot(u, v)."),
    variable("length_u").equals(
        **_TOL,
        msg="`length_u` should be the length of u, the square root of u dotted "
        "with itself: torch.sqrt(torch.dot(u, u)).",
    ),
    custom(probe=_cosine_parts, judge=_on_line("cosine", _judge_cosine)),
    custom(probe=_shape_of("flat"), judge=_on_line("flat", _judge_flat)),
    variable("all_dots").equals(
        **_TOL, msg="`all_dots` should hold the dot product of every image of the batch with u: flat @ u."
    ),
    errors={
        r"1D tensors expected": "torch.dot takes two 1-D vectors: flatten each image first, as u and v are.",
        r"inconsistent tensor size|size mismatch": _FLAT_ERRORS,
    },
)

cases = [
    wrong(
        "multiplies without summing",
        replace={"similarity = torch.dot(u, v)": "similarity = torch.mul(u, v)"},
        says="also sums them",
    ),
    wrong("measures u's length against v", replace={"torch.dot(u, u)": "torch.dot(u, v)"}, says="dotted with itself"),
    wrong(
        "sums the products in a Python loop",
        replace={"similarity = torch.dot(u, v)": "similarity = sum(u[i] * v[i] for i in range(len(u)))"},
        says="No Python loop is needed",
    ),
    wrong(
        "divides, then multiplies, without parentheses",
        replace={"similarity / (length_u * length_v)": "similarity / length_u * length_v"},
        says="run left to right",
    ),
    wrong(
        "divides by the sum of the lengths",
        replace={"similarity / (length_u * length_v)": "similarity / (length_u + length_v)"},
        says="divides by the sum of the lengths",
    ),
    wrong(
        "divides by one length only",
        replace={"similarity / (length_u * length_v)": "similarity / length_u"},
        says="divides by one length only",
    ),
    wrong(
        "leaves the dot product unnormalised",
        replace={"cosine = similarity / (length_u * length_v)": "cosine = similarity"},
        says="the raw dot product",
    ),
    wrong("flattens the whole batch into one vector", replace={"start_dim=1": "start_dim=0"}, says="start at axis 1"),
    wrong("flattens from the wrong axis", replace={"start_dim=1": "start_dim=2"}, says="start at axis 1"),
    wrong(
        "compares the images one at a time in a loop",
        replace={"all_dots = flat @ u": "all_dots = torch.stack([torch.dot(row, u) for row in flat])"},
        says="No Python loop is needed",
    ),
    right(
        "uses the @ operator and the method form",
        replace={
            "similarity = torch.dot(u, v)": "similarity = u @ v",
            "torch.sqrt(torch.dot(u, u))": "u.dot(u).sqrt()",
        },
    ),
    right(
        "multiplies element-wise, then sums, as methods",
        replace={"similarity = torch.dot(u, v)": "similarity = u.mul(v).sum()"},
    ),
    right(
        "uses norm and the library's cosine similarity",
        replace={
            "torch.sqrt(torch.dot(u, u))": "u.norm()",
            "similarity / (length_u * length_v)": "torch.nn.functional.cosine_similarity(u, v, dim=0)",
        },
    ),
    right(
        "multiplies matrix by vector with torch.mv",
        replace={"images.flatten(start_dim=1)": "images.flatten(1)", "flat @ u": "torch.mv(flat, u)"},
    ),
]
