# The detected device: CUDA, MPS or the CPU
device = get_device()
# One batch of 64 images and their labels
x, y = next(iter(train_loader))
# Move both tensors to the device
x = x.____(device)
y = y.to(____)
# The mean of each channel, computed on the device
channel_mean = x.mean(dim=(0, ____, 3))
print(device, x.device, channel_mean)
