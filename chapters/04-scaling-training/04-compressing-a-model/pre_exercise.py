import copy
import logging
import torch
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch import nn
from course.core.compression import measure as measure_files, train_cached
from course.core.data import load_tensors

torch.set_num_threads(1)  # steady timings on a small, shared CPU
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)  # torchao's import notice


def small_cnn(width=16):
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 8 * 8, 10),
    )


# The model to compress: trained for two epochs on 2,048 CIFAR-10 images
# (made once, then loaded from the course's cache), saved as model.pt
x_train, y_train = load_tensors("train", 2048)
model = train_cached(small_cnn(), x_train, y_train)
torch.save(model.state_dict(), "model.pt")
# 256 test images and the original model's predictions on them
x_test, y_test = load_tensors("test", 256)
with torch.no_grad():
    reference = model(x_test).argmax(dim=1)


def measure(name, predict, path):
    """Size on disk, ms per batch of 64, agreement with model, accuracy."""
    return measure_files(name, predict, path, x_test, y_test, reference)


baseline = measure("fp32", model, "model.pt")
