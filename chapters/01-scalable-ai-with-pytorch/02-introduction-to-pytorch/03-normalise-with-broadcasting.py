# 16 images with pixels in [0, 1], shape (16, 3, 32, 32)
x, _ = load_tensors("train", n=16, normalize=False)
# Per-channel statistics, each of shape (3,)
mean, std = torch.tensor(MEAN), torch.tensor(STD)
# View them as (1, 3, 1, 1) to broadcast over N, H and W
mean = mean.view(1, ____, 1, 1)
std = std.____(1, 3, 1, 1)
# One line normalises all 49,152 values
x_norm = ____
# Flatten each image into a row of 3,072 features
flat = x_norm.reshape(16, ____)
print(x_norm.shape, flat.shape)
