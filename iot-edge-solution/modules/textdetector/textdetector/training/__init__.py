"""Fine-tuning the recogniser (`train-rec`): dataset reader, training, export and gates.

Only `dataset` is light (numpy, OpenCV); torch is imported by the training modules, which
need the `train` extra (requirements-train.txt)."""
