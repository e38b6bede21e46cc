"""The grader: the SCT API (``graders.sct``), the sandbox that runs learner code, and
``grade``, which turns a run into feedback. Each exercise's SCT lives beside this
package at the exercise's mirrored path, e.g. ``graders/02-pytorch-lightning/...``."""
