"""vlm-privsc: privacy-preserving semantic communication of images.

Stages (see DESIGN in the README): privacy guard -> DeepJSCC transmitter -> channel ->
receiver (decoder + inpainting) / eavesdropper -> identity-leakage evaluation.
"""

__version__ = "0.1.0"
