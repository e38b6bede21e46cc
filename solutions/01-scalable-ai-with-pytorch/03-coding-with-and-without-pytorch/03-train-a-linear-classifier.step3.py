W.requires_grad_(True)
optimizer = torch.optim.SGD([W], lr=0.01)
losses = []
for step in range(5):
    # Clear the gradients left by the previous step
    optimizer.zero_grad()
    loss = F.cross_entropy(features @ W + b, y)
    loss.backward()
    # Move W against its gradient
    optimizer.step()
    losses.append(round(loss.item(), 4))
print(losses)
