"""Decode + NMS after the yolo detector, timed separately from it."""
