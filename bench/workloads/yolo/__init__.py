"""YOLOv8n-style detector: one architecture, one set of weights, four frameworks."""
