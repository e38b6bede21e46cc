import torch
from course.core.data import CLASSES, load_tensors

# 256 CIFAR-10 training images, pixel values in [0, 1], shape (256, 3, 32, 32)
images, labels = load_tensors("train", n=256, normalize=False)
