pruned = copy.deepcopy(model)
layers = [m for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
for layer in layers:
    # Zero the half of the weights with the smallest magnitude
    prune.l1_unstructured(layer, name="weight", amount=0.5)
    # Make it permanent: drop weight_orig and the mask
    prune.remove(layer, "weight")
torch.save(pruned.state_dict(), "pruned.pt")
print(baseline)
print(measure("pruned 50%", pruned, "pruned.pt"))
