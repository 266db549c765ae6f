"""Machine learning: backbones, models built from a label schema, training and prediction."""

import os

# TensorFlow reads this once, when it is first imported; keep its C++ start-up chatter quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
