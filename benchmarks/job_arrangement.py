"""How should a CPU-only machine run training jobs: one after the other with all the
threads each, or side by side with one thread each? Prints the total wall time of the
same jobs both ways, in one run.

    .venv/bin/python benchmarks/job_arrangement.py --jobs 2 --images 20000

Each job trains the default autoencoder (or classifier) for one epoch on the first
``--images`` real training images, in a process of its own, as a Snakemake job would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

JOB = """
import sys, torch
from aeflow.run import data, training
folder, images, task = sys.argv[1], int(sys.argv[2]), sys.argv[3]
x = data.read_idx(folder + "/train-images-idx3-ubyte.gz", "images")[:images]
y = data.read_idx(folder + "/train-labels-idx1-ubyte.gz", "labels")[:images].long()
split = {"train_images": x, "train_labels": y, "validation_images": x[:1000],
         "validation_labels": y[:1000], "classes": [str(i) for i in range(10)]}
params = {"architecture": "conv", "latent": 64, "dropout": 0.2, "optimizer": "adam",
          "lr": 1e-3, "batch_size": 100, "epochs": 1, "output_activation": "sigmoid",
          "hidden": 128, "initialisation": "scratch"}
fit = training.fit_autoencoder if task == "autoencoder" else training.fit_classifier
fit(params, split, 0, torch.device("cpu"), log=lambda line: None)
"""


def run_jobs(count: int, threads: int, side_by_side: bool, args) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-c", JOB, args.data, str(args.images), args.task]
    started = time.perf_counter()
    if side_by_side:
        for job in [subprocess.Popen(command, env=env) for _ in range(count)]:
            assert job.wait() == 0
    else:
        for _ in range(count):
            subprocess.run(command, env=env, check=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--task", choices=["autoencoder", "classifier"], default="autoencoder")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    cores = os.cpu_count()
    arrangements = [
        (f"{args.jobs} jobs one after the other, {cores} threads each", cores, False),
        (f"{args.jobs} jobs side by side, 1 thread each", 1, True),
    ]
    results = {name: [] for name, _, _ in arrangements}
    for _ in range(args.repeats):  # alternate, so that noise hits both
        for name, threads, side in arrangements:
            results[name].append(run_jobs(args.jobs, threads, side, args))
    first = min(results[arrangements[0][0]])
    print(f"{args.task}, {args.images} images, 1 epoch per job, best of {args.repeats}")
    print(f"{'arrangement':<48} {'total s':>8} {'throughput':>11}")
    for name, times in results.items():
        print(f"{name:<48} {min(times):>8.1f} {first / min(times):>10.2f}x")


if __name__ == "__main__":
    main()
