"""Training speed: aeflow's engine against the tutorial loop, in the same run.

Trains report 000's default autoencoder (latent 64, dropout 0.2, Adam lr 1e-3, batch 100,
Sigmoid output, MSE) and default classifier (latent 64, hidden 128, dropout 0.2, Adam lr
1e-3, batch 100, cross-entropy) on the real Fashion-MNIST training split (50 000 images)
in two ways:

* ``tutorial``: what the PyTorch tutorials do: a dataset that turns each uint8 image into
  a PIL image and applies ``torchvision.transforms.ToTensor`` (as
  ``torchvision.datasets.FashionMNIST`` does, but over the in-memory tensors: nothing is
  downloaded), a ``DataLoader`` (batch 100, shuffled, 0 workers), the model with plain
  ``nn.Dropout``, ``torch.optim.Adam`` with its defaults, and ``loss.item()`` per batch;
* ``aeflow``: :func:`aeflow.run.training.train`, the engine the workflow uses.

Each measurement runs in a fresh process (so peak memory is its own), the methods
alternate within each repeat, and the table shows medians over repeats (and epochs). It
prints training images/s, the ratio aeflow / tutorial, the evaluation pass over the
10 000 test images (images/s), and peak memory (``ru_maxrss`` on the CPU,
``torch.cuda.max_memory_allocated`` on CUDA).

``--compare-curves`` instead trains both ways for a few epochs and seeds and prints the
per-epoch validation loss, mean ± sd over seeds, for each: the two engines should agree
within the seed-to-seed spread.

    .venv/bin/python benchmarks/train_speed.py                      # the table
    .venv/bin/python benchmarks/train_speed.py --subset 2000 --repeats 1   # smoke test
    .venv/bin/python benchmarks/train_speed.py --compare-curves --epochs 3 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
AE_PARAMS = {
    "architecture": "conv",
    "latent": 64,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 100,
    "output_activation": "sigmoid",
}
CLF_PARAMS = {
    "architecture": "conv",
    "latent": 64,
    "hidden": 128,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 100,
}
TASKS = ("autoencoder", "classifier")
METHODS = ("tutorial", "aeflow")


# --- the parent: prepares the data once, runs workers, prints the table ----------------------


def prepare_data(data_dir: str, path: Path) -> None:
    """The workflow's split (50 000 / 10 000 / 10 000, split seed 0), saved for the workers."""
    import torch

    from aeflow.run import data

    d = Path(data_dir)
    split = data.split(
        data.read_idx(d / "train-images-idx3-ubyte.gz", "images"),
        data.read_idx(d / "train-labels-idx1-ubyte.gz", "labels"),
        data.read_idx(d / "t10k-images-idx3-ubyte.gz", "images"),
        data.read_idx(d / "t10k-labels-idx1-ubyte.gz", "labels"),
        validation_size=10_000,
        seed=0,
        classes=CLASSES,
    )
    torch.save(split, path)


def worker_job(args, mode, task, method, data_path, seed) -> dict:
    """What one worker process measures."""
    return {"mode": mode, "task": task, "method": method, "data": str(data_path),
            "device": args.device, "epochs": args.epochs, "subset": args.subset,
            "threads": args.threads, "seed": seed,
            "tutorial_keeps_memory": args.tutorial_keeps_memory}  # fmt: skip


def run_worker(args, job: dict) -> dict:
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(job)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"worker {job} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(values):
    return statistics.median(values) if values else float("nan")


def speed_table(args, data_path: Path) -> None:
    runs = {(t, m): [] for t in args.tasks for m in METHODS}
    for repeat in range(args.repeats):
        for task in args.tasks:
            # alternate which method goes first, so drift in machine load hits both
            methods = METHODS if repeat % 2 == 0 else METHODS[::-1]
            for method in methods:
                result = run_worker(
                    args, worker_job(args, "speed", task, method, data_path, repeat)
                )
                runs[task, method].append(result)
                print(
                    f"  repeat {repeat + 1}/{args.repeats} {task:11s} {method:8s} "
                    f"epoch {' '.join(f'{s:.2f}' for s in result['epoch_seconds'])} s, "
                    f"eval {result['eval_seconds']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
    first = runs[args.tasks[0], METHODS[0]][0]
    print(
        f"\ndevice {first['device']}, torch {first['torch']}, {first['threads']} threads, "
        f"{first['n_train']} training images, {first['n_eval']} test images, "
        f"{args.epochs} epoch(s) x {args.repeats} repeat(s) (medians)"
        + (", tutorial with aeflow's allocator setting" if args.tutorial_keeps_memory else "")
        + "\n"
    )
    header = (
        "| model | engine | s / epoch | train images/s | ratio | eval images/s | eval ratio "
        f"| peak memory ({first['memory_kind']}; + over the data-loaded process) |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for task in args.tasks:
        base = base_eval = None
        for method in METHODS:
            rs = runs[task, method]
            sec = median([s for r in rs for s in r["epoch_seconds"]])
            speed = rs[0]["n_train"] / sec
            eval_speed = rs[0]["n_eval"] / median([r["eval_seconds"] for r in rs])
            memory = median([r["peak_memory_mib"] for r in rs])
            growth = median([r["peak_growth_mib"] for r in rs])
            if base is None:
                base, base_eval = speed, eval_speed
            print(
                f"| {task} | {method} | {sec:.2f} | {speed:,.0f} | {speed / base:.2f}x "
                f"| {eval_speed:,.0f} | {eval_speed / base_eval:.2f}x | {memory:,.0f} MiB (+{growth:,.0f}) |"
            )


def curves_table(args, data_path: Path) -> None:
    histories = {(t, m): [] for t in args.tasks for m in METHODS}
    for seed in args.seeds:
        for task in args.tasks:
            for method in METHODS:
                result = run_worker(args, worker_job(args, "curves", task, method, data_path, seed))
                histories[task, method].append(result["validation"])
                print(
                    f"  seed {seed} {task:11s} {method:8s} validation loss "
                    + " ".join(f"{v['loss']:.5f}" for v in result["validation"]),
                    file=sys.stderr,
                    flush=True,
                )
    n = len(args.seeds)
    print(f"\nvalidation loss per epoch, mean ± sd over {n} seeds ({args.seeds}), eval mode\n")
    print("| model | epoch | tutorial | aeflow | difference / sd |")
    print("|---|---|---|---|---|")
    for task in args.tasks:
        for metric in ("loss", "accuracy") if task == "classifier" else ("loss",):
            for e in range(args.epochs):
                cells, means, sds = [], [], []
                for method in METHODS:
                    values = [h[e][metric] for h in histories[task, method]]
                    m = statistics.fmean(values)
                    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
                    means.append(m)
                    sds.append(sd)
                    cells.append(f"{m:.5f} ± {sd:.5f}")
                pooled = ((sds[0] ** 2 + sds[1] ** 2) / 2) ** 0.5
                label = task if metric == "loss" else f"{task} ({metric})"
                print(
                    f"| {label} | {e + 1} | {cells[0]} | {cells[1]} "
                    f"| {(means[1] - means[0]) / pooled:+.2f} |"
                )


# --- the worker: one method, one task, in its own process -------------------------------------


def worker(job: dict) -> dict:
    import resource

    import torch
    from PIL import Image
    from torch import nn
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import ToTensor

    from aeflow.run import devices, memory, metrics, models, training

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    device = devices.select_device(job["device"])
    split = torch.load(job["data"], weights_only=True)
    if job["subset"]:
        k = job["subset"]
        for part in ("train", "validation", "test"):
            split[f"{part}_images"] = split[f"{part}_images"][:k]
            split[f"{part}_labels"] = split[f"{part}_labels"][:k]
    task, seed, epochs = job["task"], job["seed"], job["epochs"]
    curves = job["mode"] == "curves"
    # validation: the real split for curves; for speed a token 100 images (aeflow's engine
    # validates after every epoch; the tutorial loop does not)
    val_n = None if curves else 100
    n_train = len(split["train_images"])
    eval_x, eval_y = split["test_images"], split["test_labels"]

    torch.manual_seed(seed)
    if task == "autoencoder":
        model = models.build_autoencoder(AE_PARAMS)
    else:
        model = models.build_classifier(CLF_PARAMS, classes=len(CLASSES))
    params = AE_PARAMS if task == "autoencoder" else CLF_PARAMS
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    epoch_seconds, validation = [], []
    if job["method"] == "aeflow":
        data = dict(split)
        data["validation_images"] = split["validation_images"][:val_n]
        data["validation_labels"] = split["validation_labels"][:val_n]
        lines = []
        result = training.train(
            model, data, task=task, epochs=epochs, batch_size=params["batch_size"],
            optimizer=params["optimizer"], lr=params["lr"], seed=seed, device=device,
            log=lines.append,
        )  # fmt: skip
        epoch_seconds = [float(ln.rsplit("seconds=", 1)[1]) for ln in lines if "seconds=" in ln]
        for e in range(1, epochs + 1):
            validation.append(
                {
                    r["metric"]: r["value"]
                    for r in result["history"]
                    if r["epoch"] == e and r["split"] == "validation"
                }
            )
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        metrics.evaluate_split(
            model, task, eval_x.to(device), eval_y.to(device), metrics.eval_batch_size(device)
        )
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        eval_seconds = time.perf_counter() - started
    else:

        class TutorialFashionMNIST(Dataset):
            """``torchvision.datasets.FashionMNIST.__getitem__`` over in-memory tensors."""

            def __init__(self, images, labels, transform):
                self.data, self.targets, self.transform = images, labels, transform

            def __len__(self):
                return len(self.data)

            def __getitem__(self, index):
                img, target = self.data[index], int(self.targets[index])
                img = Image.fromarray(img.numpy(), mode="L")
                return self.transform(img), target

        def swap_dropout(module):
            for name, child in module.named_children():
                if isinstance(child, models.Dropout):
                    setattr(module, name, nn.Dropout(child.p))
                else:
                    swap_dropout(child)

        swap_dropout(model)
        if job["tutorial_keeps_memory"]:
            memory.keep_freed_memory()  # aeflow's allocator setting, for comparison
        model.to(device)
        loader = DataLoader(
            TutorialFashionMNIST(split["train_images"], split["train_labels"], ToTensor()),
            batch_size=params["batch_size"],
            shuffle=True,
            num_workers=0,
            generator=torch.Generator().manual_seed(seed),
        )
        criterion = nn.MSELoss() if task == "autoencoder" else nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])

        def evaluate(images, labels):
            model.eval()
            total, correct = 0.0, 0
            with torch.no_grad():
                for x, y in DataLoader(
                    TutorialFashionMNIST(images, labels, ToTensor()),
                    batch_size=params["batch_size"],
                ):
                    x, y = x.to(device), y.to(device)
                    out = model(x)
                    total += criterion(out, x if task == "autoencoder" else y).item() * len(x)
                    if task == "classifier":
                        correct += (out.argmax(1) == y).sum().item()
            model.train()
            out = {"loss": total / len(images)}
            if task == "classifier":
                out["accuracy"] = correct / len(images)
            return out

        for _ in range(epochs):
            model.train()
            started = time.perf_counter()
            running = 0.0
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                out = model(x)
                loss = criterion(out, x if task == "autoencoder" else y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                running += loss.item() * len(x)
            epoch_seconds.append(time.perf_counter() - started)
            if curves:
                validation.append(evaluate(split["validation_images"], split["validation_labels"]))
        started = time.perf_counter()
        evaluate(eval_x, eval_y)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        eval_seconds = time.perf_counter() - started

    if device.type == "cuda":
        peak, kind = torch.cuda.max_memory_allocated(device) / 2**20, "CUDA allocated"
        growth = peak
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "max RSS"
        growth = peak - maxrss_before  # what training and evaluation added to the peak
    return {
        "epoch_seconds": epoch_seconds,
        "eval_seconds": eval_seconds,
        "validation": validation,
        "n_train": n_train,
        "n_eval": len(eval_x),
        "peak_memory_mib": peak,
        "peak_growth_mib": growth,
        "memory_kind": kind,
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--epochs", type=int, default=None, help="1 (table), 3 (curves)")
    parser.add_argument("--repeats", type=int, default=3, help="processes per method and model")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--subset", type=int, default=None, help="first N images of each split")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--data", default=DATA_DIR, help="folder of the four IDX .gz files")
    parser.add_argument(
        "--tutorial-keeps-memory",
        action="store_true",
        help="give the tutorial loop aeflow's allocator setting too (aeflow.run.memory)",
    )
    parser.add_argument("--compare-curves", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.epochs is None:
        args.epochs = 3 if args.compare_curves else 1
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "split.pt"
        prepare_data(args.data, data_path)
        print("command: " + " ".join([Path(sys.executable).name, *sys.argv]), flush=True)
        if args.compare_curves:
            curves_table(args, data_path)
        else:
            speed_table(args, data_path)


if __name__ == "__main__":
    main()
