"""Choosing engine and precision for the tasks: INT8 quantization, the parity gate, auto.

Engines (engines/) only run models; this folder knows what "as good as FP32" means for
text detection and recognition, on a fixed evaluation set from the demo video.
"""
