"""``course train``: the course's CIFAR-10 classifier, trained on the full data set.

The recipe is the one the course teaches for training fast on a small machine:

* the images stay a uint8 tensor in memory and each batch is augmented as a whole
  with tensor ops (random crop of a reflect-padded image, horizontal flip), so no
  per-image transforms and no worker processes;
* a compact residual CNN (ResNet-9 layout, narrowed for a 2-core CPU) with BatchNorm,
  run in ``channels_last`` with bf16 autocast (``precision="bf16-mixed"``);
* SGD with Nesterov momentum, a one-cycle learning rate, label smoothing;
* a time budget: the one-cycle schedule follows the wall clock (progress = time
  spent / time available), so training ends on time, annealed, however busy the
  machine; ``--epochs N`` gives a fixed, step-based schedule instead.

Then the best checkpoint (by accuracy on 2,000 held-out training images) is
evaluated on the full 10,000-image test set, exported to ONNX (class probabilities;
``--flip-tta`` also averages over the mirror image), checked against PyTorch on real
test images, and described in a model card. ``course serve`` answers with that ONNX file.

With ``--devices N`` (and ``--num-nodes M``) Lightning's distributed engine trains on N
processes per node (``course.product.train.processes``), the global batch and the
schedule unchanged.

The package, by concern: ``network`` (the model), ``schedule`` (learning rate, time
budget), ``data`` (batches, augmentation), ``processes`` (devices and nodes), ``fit`` (the
run), ``export`` (test measurement, ONNX), ``card`` (model.json, MODEL_CARD.md),
``progress`` (what it prints), ``command`` (the options). Importing this package costs only
argparse: ``course`` reads the options before it knows whether torch is needed.
"""

from __future__ import annotations

import time

# `course` imports this package before torch and Lightning: the budget counts from here,
# so their import time is inside it too.
STARTED = time.perf_counter()

from course.product.train.command import add_arguments, main, run  # noqa: E402

__all__ = ["STARTED", "add_arguments", "main", "run"]
