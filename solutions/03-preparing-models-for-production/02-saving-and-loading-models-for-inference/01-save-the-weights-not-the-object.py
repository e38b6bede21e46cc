# Save only the weights: a dict of tensors
torch.save(model.state_dict(), "weights.pt")
# Rebuild the architecture, then load the weights
restored = SmallCNN()
restored.load_state_dict(torch.load("weights.pt", weights_only=True))
# Dropout off, batch norm on its running statistics
restored.eval()
with torch.inference_mode():
    preds = restored(images).argmax(dim=1)
    # Same weights, same mode: the same answers as the original
    print(preds.equal(model.eval()(images).argmax(dim=1)), preds)
