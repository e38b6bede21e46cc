# 64 pixel values from the red channel of one image
values = x[0, 0, :2, :].flatten()
# Plain Python: one loop for the mean, one for the spread
vals = values.tolist()
mean = sum(vals) / len(vals)
std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
z_loops = [(v - mean) / std for v in vals]
# PyTorch: the same in one line, no loops
z = (values - values.____()) / values.std(correction=0)
# The same idea for the whole batch, per channel
mean_c = x.mean(dim=(0, 2, 3), keepdim=____)
std_c = x.std(dim=(0, 2, 3), keepdim=True, correction=0)
z_batch = ____
print(torch.allclose(torch.tensor(z_loops), z, atol=1e-5), z_batch.shape)
