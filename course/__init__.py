"""Designing Scalable AI Systems: the course package."""

from course import core  # noqa: F401  (first: it sets OpenMP's spin default before torch loads)
