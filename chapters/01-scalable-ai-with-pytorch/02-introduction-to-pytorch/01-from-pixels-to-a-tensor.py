# Eight CIFAR-10 images as a tensor: uint8, (N, H, W, C)
raw = torch.____(images[:8])
# 32-bit floats, scaled into [0, 1]
x = raw.to(torch.____) / 255
# Channels first: (N, C, H, W)
x = x.permute(0, ____, 1, 2)
print(raw.dtype, tuple(raw.shape), "->", x.dtype, tuple(x.shape))
