import torch
from course.core.data import CLASSES, MEAN, STD, cifar10_loaders, load_arrays, load_tensors
from course.core.device import get_device

# The raw training images as NumPy arrays: uint8 (2700, 32, 32, 3) and int64 labels
images, labels = load_arrays("train")
train_loader, val_loader = cifar10_loaders(batch_size=64, n_train=256, n_val=64)
