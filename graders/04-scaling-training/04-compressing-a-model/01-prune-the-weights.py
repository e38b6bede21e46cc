"""SCT for 4.4.1, Prune the weights."""

from graders.sct import SCT, SOLUTION, compressed, custom, right, wrong


def _layer_sparsity(run):
    from torch import nn

    pruned = run.ns.get("pruned")
    if not isinstance(pruned, nn.Module):
        return None
    return {
        name: round(float((m.weight == 0).float().mean()), 4)
        for name, m in pruned.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    }


def _each_layer_right(got, want, ctx):
    if not got or not want:
        return None
    off = {name: share for name, share in got.items() if abs(share - want.get(name, share)) > 0.01}
    if off:
        shares = ", ".join(f"{name} {share:.0%}" for name, share in got.items())
        return (
            "Prune half of each layer's weights: one amount for the whole model (global_unstructured) removes "
            "the smallest weights wherever they are, so some layers lose most of theirs and others few. "
            f"Zeros per layer: {shares}."
        )
    return None


sct = SCT(
    compressed("pruned.pt", model="pruned")
    .original_unchanged()
    .no_pruning_leftovers()
    .sparsity(
        SOLUTION,
        msg="{got} of the weights are zero, not half: amount=0.5 prunes a share of the weights, while an "
        "integer amount such as 50 prunes that many weights.",
    )
    .size(at_most=1.01)
    .agreement(SOLUTION, tolerance=0.01),
    custom(probe=_layer_sparsity, judge=_each_layer_right),
)

cases = [
    wrong(
        "saves without making the pruning permanent",
        replace={'    prune.remove(layer, "weight")\n': ""},
        says="call prune.remove",
    ),
    wrong("gives the amount as a count", replace={"amount=0.5": "amount=50"}, says="an integer amount"),
    wrong(
        "prunes the original model in place",
        replace={"pruned = copy.deepcopy(model)": "pruned = model"},
        says="compress a copy",
    ),
    wrong(
        "prunes half of all weights with one global amount",
        replace={
            "for layer in layers:\n    # Zero the half of the weights with the smallest magnitude\n"
            '    prune.l1_unstructured(layer, name="weight", amount=0.5)\n': 'prune.global_unstructured([(layer, "weight") for layer in layers],\n'
            "                          pruning_method=prune.L1Unstructured, amount=0.5)\n"
            "for layer in layers:\n    # Zero the half of the weights with the smallest magnitude\n"
        },
        says="Prune half of each layer's weights",
    ),
    right(
        "prunes with keyword arguments throughout",
        replace={'prune.remove(layer, "weight")': 'prune.remove(layer, name="weight")'},
    ),
]
