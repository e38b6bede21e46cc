# Put the model back in training mode
model.train()
for x, y in train_loader:
    # Clear the gradients of the previous batch
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
print(f"loss on the last batch: {loss.item():.3f}")
