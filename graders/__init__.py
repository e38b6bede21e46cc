"""The grader: the SCT API (``graders.sct``), the sandbox that runs learner code, and
``grade``, which turns a run into feedback. Each exercise's SCT lives beside this
package at the exercise's mirrored path, e.g. ``graders/02-pytorch-lightning/...``."""

import course.core  # noqa: E402, F401  (first: it sets OpenMP's spin default before anything loads torch)
