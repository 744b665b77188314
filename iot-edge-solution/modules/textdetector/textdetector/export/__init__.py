"""Exports of the models for other serving stacks (a Triton model repository)."""
