from typing import Annotated

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.export import Dim
import pytorch_lightning as pl
from fastapi import FastAPI, HTTPException, UploadFile
from fastapi.testclient import TestClient
from PIL import Image
import io
from pydantic import BaseModel, Field
from torchmetrics.classification import MulticlassAccuracy
from course.core.data import CLASSES, cifar10_dataset, cifar10_loaders, load_arrays, load_tensors
from course.core.preprocess import ImageError, decode_image, to_model_input

QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)

# SmallCNN and LitCNN come from the chapter's pre_exercise.py, which runs before this file


def onnx_session(path):
    """An ONNX Runtime session that leaves the CPU to PyTorch (lesson 3.3)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


class Pixels(BaseModel):
    """A request body: one RGB image as 32 rows of 32 pixels of 3 values, 0-255."""

    pixels: list[list[list[Annotated[int, Field(ge=0, le=255)]]]]


# One short epoch of training, saved as a Lightning checkpoint
torch.manual_seed(0)
train_loader, _ = cifar10_loaders(batch_size=64, n_train=512, n_val=64)
test_loader = DataLoader(cifar10_dataset("test", 256), batch_size=64)  # the test split
trainer = pl.Trainer(max_epochs=1, **QUIET)
trainer.fit(LitCNN(), train_loader)
trainer.save_checkpoint("trained.ckpt")
model = trainer.lightning_module.net.eval()
# The exported classifier ends with softmax: it returns probabilities
example = (load_tensors("test", 2)[0],)
classifier = torch.export.export(nn.Sequential(model, nn.Softmax(dim=1)), example,
                                 dynamic_shapes=({0: Dim("batch")},))
torch.export.save(classifier, "classifier.pt2")
# One CIFAR-10 test image as the PNG file a client would upload
_buffer = io.BytesIO()
Image.fromarray(np.asarray(load_arrays("test")[0][0])).save(_buffer, format="PNG")
png = _buffer.getvalue()
