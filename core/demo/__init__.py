"""Synthetic demo images drawn with Pillow and numpy from a seeded generator.

Modules, each importing only those above it: ``drawing`` (pen, masks, backgrounds, finishing),
``cats``, ``dogs``, ``scenes`` (subjects), ``samples`` (label plans, ``demo_samples``,
``encode_jpeg``).
"""
