"""The lowest layer: course content and data.

The exercise loader (``exercises``, ``blanks``, ``answers``), CIFAR-10 (``data``), the one
preprocessing (``preprocess``), devices, seeds and quiet logging, and the helpers that the
lessons' own code imports (``distributed``, ``tracking``, ``compression``, ``onnxrt``).
Nothing here imports from the grading engine, the product or the front ends.
"""
