"""Run time: the training and evaluation jobs (torch)."""
