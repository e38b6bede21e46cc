"""The lowest layer: course content and data.

The exercise loader (``exercises``, ``blanks``, ``answers``), CIFAR-10 (``data``), the one
preprocessing (``preprocess``), devices, seeds and quiet logging, and the helpers that the
lessons' own code imports (``distributed``, ``tracking``, ``compression``, ``onnxrt``).
Nothing here imports from the grading engine, the product or the front ends.
"""

import os

# OpenMP threads that wait for work spin before they sleep: torch's libgomp spins 300,000
# turns by default. On a shared 2-core machine (a check beside a notebook's training, two
# test workers, a learner's other programs) the spinning threads take the cores the work
# needs: two 2-thread trainings side by side took 2.2x longer and 2.2x the CPU. 1,000 turns
# cost nothing measurable alone. Read once, when torch loads OpenMP: set before any import
# of torch (every package of the course imports this one first), never over the learner's own.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")
