# Ask autograd to record every operation on W
W.requires_grad_(True)
scores = features @ W + b
loss = F.cross_entropy(scores, y)
# One call computes d(loss)/dW for all 30,720 weights
loss.backward()
grad = W.grad
print(f"loss {loss.item():.3f}")
