"""Designing Scalable AI Systems: the course package."""
