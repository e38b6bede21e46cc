"""The product: ``course train`` (the classifier on the full CIFAR-10) and ``course serve``.

Built only on ``course.core``; the front ends (``course.cli``) start it.
"""
