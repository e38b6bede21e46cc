# Put the model back in training mode
model.____()
for x, y in train_loader:
    # Clear the gradients of the previous batch
    optimizer.____()
    loss = F.cross_entropy(model(x), y)
    loss.____()
    optimizer.step()
print(f"loss on the last batch: {loss.item():.3f}")
