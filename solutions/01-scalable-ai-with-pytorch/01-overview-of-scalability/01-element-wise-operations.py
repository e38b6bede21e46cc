# Two CIFAR-10 images, pixel values in [0, 1]
a, b = images[0], images[1]
# Blend them: the pixel-wise average
blend = torch.div(torch.add(a, b), 2)
# Where they differ, pixel by pixel
diff = torch.sub(a, b)
# Darken the first image to half its brightness
dark = torch.mul(a, 0.5)
# A contrast curve: square every pixel
contrast = torch.pow(a, 2)
print(a.shape, a.numel(), "values per image, one call each")
