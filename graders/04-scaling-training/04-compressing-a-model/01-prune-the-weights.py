"""SCT for 4.4.1, Prune the weights."""
from graders.sct import SCT, SOLUTION, compressed, right, wrong

sct = SCT(
    compressed("pruned.pt", model="pruned").original_unchanged().no_pruning_leftovers().sparsity(
        SOLUTION, msg="{got} of the weights are zero, not half: amount=0.5 prunes a share of the weights, while an "
                      "integer amount such as 50 prunes that many weights.").size(at_most=1.01).agreement(
        SOLUTION, tolerance=0.01),
)

cases = [
    wrong("saves without making the pruning permanent", replace={'    prune.remove(layer, "weight")\n': ""},
          says="call prune.remove"),
    wrong("gives the amount as a count", replace={"amount=0.5": "amount=50"}, says="an integer amount"),
    wrong("prunes the original model in place", replace={"pruned = copy.deepcopy(model)": "pruned = model"},
          says="compress a copy"),
    right("prunes with keyword arguments throughout",
          replace={'prune.remove(layer, "weight")': 'prune.remove(layer, name="weight")'}),
]
