# Plain Python style: score one image at a time
loop_scores = torch.stack([features[i] @ W + b for i in range(8)])
# Tensor code: score all 64 images in one matrix product
scores = features @ W + b
# The predicted class: the highest score in each row
pred = scores.argmax(dim=1)
print(torch.allclose(loop_scores, scores[:8], atol=1e-5), pred[:8])
