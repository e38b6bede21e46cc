"""SCT for 4.4.1, Prune the weights."""

from graders.sct import SCT, SOLUTION, compressed, custom, right, wrong


def _layers(model):
    from torch import nn

    return {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def _layer_sparsity(run):
    from torch import nn

    pruned = run.ns.get("pruned")
    if not isinstance(pruned, nn.Module):
        return None
    return {name: [int((m.weight == 0).sum()), m.weight.numel()] for name, m in _layers(pruned).items()}


def _each_layer_right(got, want, ctx):
    if not got or not want:
        return None
    share = {name: zeros / total for name, (zeros, total) in got.items()}
    wanted = {name: zeros / total for name, (zeros, total) in want.items()}
    off = {name for name in share if abs(share[name] - wanted.get(name, share[name])) > 0.01}
    if not off:
        return None
    shares = ", ".join(f"{name} {value:.0%}" for name, value in share.items())
    untouched = [name for name in off if got[name][0] == 0 and wanted.get(name)]
    if untouched:
        return (
            f"No weight of {', '.join(sorted(untouched))} is zero: prune half of each layer's weights, every Conv2d "
            f"and Linear layer, and its `weight` (the bias is not what pruning shrinks). Zeros per layer: {shares}."
        )
    if len({zeros for zeros, _ in got.values()}) == 1:
        return (
            f"Every layer lost exactly {next(iter(got.values()))[0]} weights, whatever its size: an integer amount "
            "prunes that many weights, while a float such as 0.5 prunes that share of them. "
            f"Zeros per layer: {shares}."
        )
    return (
        "Prune half of each layer's weights: one amount for the whole model (global_unstructured) removes "
        "the smallest weights wherever they are, so some layers lose most of theirs and others few. "
        f"Zeros per layer: {shares}."
    )


def _smallest_pruned(run):
    """Per layer: the largest magnitude (in the original) of a weight that was zeroed, and the
    smallest of one that was kept."""
    from torch import nn

    pruned, model = run.ns.get("pruned"), run.ns.get("model")
    if not isinstance(pruned, nn.Module) or not isinstance(model, nn.Module) or pruned is model:
        return None
    originals = _layers(model)
    found = {}
    for name, layer in _layers(pruned).items():
        original = originals.get(name)
        if original is None or original.weight.shape != layer.weight.shape:
            continue
        magnitude = original.weight.detach().abs()
        zeroed = (layer.weight.detach() == 0) & (magnitude > 0)
        if zeroed.any() and (~zeroed).any():
            found[name] = [float(magnitude[zeroed].max()), float(magnitude[~zeroed].min())]
    return found


def _smallest_pruned_right(got, want, ctx):
    for name, (largest_zeroed, smallest_kept) in (got or {}).items():
        if largest_zeroed > smallest_kept + 1e-7:
            return (
                f"In {name}, a weight of magnitude {largest_zeroed:.3g} was zeroed while one of {smallest_kept:.3g} was "
                "kept: the pruning did not remove the weights with the smallest absolute value. L1 unstructured "
                "pruning ranks single weights by magnitude; random pruning ignores it, and structured pruning "
                "removes whole channels at once."
            )
    return None


def _file_holds_pruned(run):
    import os

    import torch
    from torch import nn

    pruned, path = run.ns.get("pruned"), os.path.join(run.workdir, "pruned.pt")
    if not isinstance(pruned, nn.Module) or not os.path.exists(path):
        return None
    try:
        saved = torch.load(path, weights_only=True)
    except Exception:
        return None  # the family says why the file does not load
    if not isinstance(saved, dict):
        return None
    now = pruned.state_dict()
    return all(k in now and isinstance(v, torch.Tensor) and torch.equal(v, now[k]) for k, v in saved.items())


def _file_holds_pruned_right(got, want, ctx):
    if got is False:
        return (
            "pruned.pt does not hold the weights of `pruned`: the file is what a server loads, so save the pruned "
            "model's state dict, after making the pruning permanent."
        )
    return None


sct = SCT(
    compressed("pruned.pt", model="pruned").original_unchanged().no_pruning_leftovers(),
    custom(probe=_file_holds_pruned, judge=_file_holds_pruned_right),
    custom(probe=_layer_sparsity, judge=_each_layer_right),
    custom(probe=_smallest_pruned, judge=_smallest_pruned_right),
    compressed("pruned.pt", model="pruned")
    .sparsity(
        SOLUTION,
        msg="{got} of the weights are zero, not half: amount=0.5 prunes a share of the weights, while an "
        "integer amount such as 50 prunes that many weights.",
    )
    .size(at_most=1.01)
    .agreement(SOLUTION, tolerance=0.01),
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
    wrong(
        "saves the original model's weights as pruned.pt",
        replace={'torch.save(pruned.state_dict(), "pruned.pt")': 'torch.save(model.state_dict(), "pruned.pt")'},
        says="pruned.pt does not hold the weights of `pruned`",
    ),
    wrong(
        "prunes the convolutions only",
        replace={"isinstance(m, (nn.Conv2d, nn.Linear))": "isinstance(m, nn.Conv2d)"},
        says="prune half of each layer's weights, every Conv2d",
    ),
    wrong(
        "prunes the biases instead of the weights",
        replace={
            'name="weight", amount=0.5)': 'name="bias", amount=0.5)',
            'prune.remove(layer, "weight")': 'prune.remove(layer, "bias")',
        },
        says="its `weight` (the bias is not what pruning shrinks)",
    ),
    wrong(
        "prunes at random",
        replace={"prune.l1_unstructured(": "prune.random_unstructured("},
        says="did not remove the weights with the smallest absolute value",
    ),
    wrong(
        "prunes whole channels",
        replace={
            'prune.l1_unstructured(layer, name="weight", amount=0.5)': 'prune.ln_structured(layer, name="weight", amount=0.5, n=1, dim=0)'
        },
        says="structured pruning removes whole channels",
    ),
    right(
        "zeroes the smaller half of each layer's weights by hand",
        replace={
            '    prune.l1_unstructured(layer, name="weight", amount=0.5)\n    # Make it permanent: drop weight_orig and the mask\n    prune.remove(layer, "weight")': (
                "    w = layer.weight.data\n    threshold = w.abs().flatten().kthvalue(w.numel() // 2).values\n"
                "    w[w.abs() <= threshold] = 0"
            )
        },
    ),
    right(
        "prunes with keyword arguments throughout",
        replace={'prune.remove(layer, "weight")': 'prune.remove(layer, name="weight")'},
    ),
]
