"""Machine learning: backbones, models built from a label schema, training and prediction."""

import os

# TensorFlow reads this once, when it is first imported; keep its C++ start-up chatter quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's convolutions: TensorFlow turns them on by itself only on some Intel CPUs; on this
# AMD EPYC a small_cnn training epoch takes 35% less CPU with them (issue 14)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
