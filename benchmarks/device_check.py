"""The training path on a device against the CPU, configuration by configuration.

Trains every architecture's autoencoder and its classifiers (scratch, frozen, fine-tuned),
plus report 003's feed-forward M0 on its own images (``images``, full batch) and report
001's Raschka classifier with max pooling, for a few epochs on a stratified subset of the
real Fashion-MNIST, once on the CPU and once on ``--device``, with the same seed. It
prints a table: the final validation loss on each, their relative difference, and the
seconds of training. It checks that every path runs on the device and lands where the CPU
does, not that they are equal: the device draws its own dropout masks (another random
stream than the CPU's) and sums in other orders, so configurations with dropout differ
about as two replicate seeds do (on an H200, 2 epochs on 5 000 images: up to 7 % in the
final validation loss, most below 1 %), and those without it by rounding.

    .venv/bin/python benchmarks/device_check.py --device cuda
    .venv/bin/python benchmarks/device_check.py --device cpu --subset 600 --epochs 1  # smoke
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from aeflow.plan import grid  # noqa: E402
from aeflow.plan.hyperparameters import INITIALISATIONS  # noqa: E402
from aeflow.run import data, devices, models, training  # noqa: E402

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # fmt: skip
CLASSES = [str(i) for i in range(10)]
BASE = {"dropout": 0.2, "optimizer": "adam", "lr": 1e-3, "batch_size": 100}
AUTOENCODERS = {
    "conv": {"architecture": "conv", "latent": 64},
    "conv_bn": {"architecture": "conv_bn", "latent": 64, "channels": "64-96",
                "pooling": "max-avg", "decoder_batch_norm": False, "dropout": 0.0},
    "conv_deep": {"architecture": "conv_deep", "latent": 128, "dropout": 0.0},
    "mlp": {"architecture": "mlp", "latent": 512, "dropout": 0.1},
}  # fmt: skip
EXTRA = {
    "003 M0, images 4000-500-500, full batch, SGD": {
        "architecture": "mlp", "latent": 100, "hidden": "80", "dropout": 0.0,
        "optimizer": "sgd", "lr": 0.1, "batch_size": "full", "images": "4000-500-500",
    },
    "001 Raschka, max pooling": {
        "architecture": "conv_deep", "latent": 10, "hidden": "none", "dropout": 0.8,
        "dropout_at": "flatten", "batch_size": 40, "lr": 0.0007, "downsampling": "max-pool",
    },
}  # fmt: skip


def load(folder: str, subset: int) -> dict:
    paths = {name: Path(folder) / name for name in FILES}
    split = data.split(
        data.read_idx(paths[FILES[0]], "images"),
        data.read_idx(paths[FILES[1]], "labels"),
        data.read_idx(paths[FILES[2]], "images"),
        data.read_idx(paths[FILES[3]], "labels"),
        validation_size=10_000,
        seed=0,
        classes=CLASSES,
        subset={"train": subset, "validation": subset // 5, "test": subset // 5},
    )
    return split


def run(kind, params, dataset, device, encoder=None):
    started = time.perf_counter()
    silent = lambda _: None  # noqa: E731
    if kind == "autoencoder":
        model, result = training.fit_autoencoder(params, dataset, 0, device, log=silent)
    else:
        model, result = training.fit_classifier(params, dataset, 0, device, encoder, log=silent)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return model, result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--subset", type=int, default=5000, help="training images")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    device = devices.select_device(args.device)
    cpu = torch.device("cpu")
    dataset = load(args.data, args.subset)
    n_train = len(dataset["train_images"])
    print(f"device {device}: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; "
          f"torch {torch.__version__}; {n_train} training images, {args.epochs} epochs")  # fmt: skip
    rows = []

    def record(name, kind, params, encoders=None):
        out = {}
        for where in (cpu, device):
            enc = encoders[where.type] if encoders else None
            model, result, seconds = run(kind, params, dataset, where, enc)
            out[where.type] = (model, result, seconds)
        (_, a, ta), (_, b, tb) = out[cpu.type], out[device.type]
        loss_a, loss_b = a["final_validation_loss"], b["final_validation_loss"]
        rows.append((name, loss_a, loss_b, abs(loss_b - loss_a) / max(abs(loss_a), 1e-12), ta, tb))
        return out

    for name, overrides in AUTOENCODERS.items():
        ae = grid.canonical({**BASE, "output_activation": "sigmoid", "epochs": args.epochs,
                             **overrides}, n_train)  # fmt: skip
        trained = record(f"{name} autoencoder", "autoencoder", ae)
        encoders = {w: models.encoder_export(m, ae, name) for w, (m, _, _) in trained.items()}
        shape = {k: v for k, v in ae.items() if k in grid.ENCODER_KEYS}
        for init in INITIALISATIONS:
            clf = grid.canonical({**BASE, "hidden": "128", "epochs": args.epochs, **shape,
                                  "dropout": ae["dropout"], "initialisation": init,
                                  "autoencoder_id": None if init == "scratch" else "x"},
                                 n_train)  # fmt: skip
            record(f"{name} classifier, {init}", "classifier", clf,
                   None if init == "scratch" else encoders)  # fmt: skip
    # report 003's 4000-500-500, or what a smaller --subset holds
    own = f"{min(4000, n_train)}-{min(500, args.subset // 5)}-{min(500, args.subset // 5)}"
    for name, params in EXTRA.items():
        params = {**params, "images": own} if "images" in params else params
        clf = grid.canonical({**BASE, "epochs": args.epochs, **params,
                              "initialisation": "scratch", "autoencoder_id": None},
                             n_train)  # fmt: skip
        record(name, "classifier", clf)

    width = max(len(r[0]) for r in rows)
    print(f"\n{'configuration':<{width}}  {'val loss cpu':>12}  {'val loss ' + device.type:>13}"
          f"  {'rel. diff':>9}  {'s cpu':>7}  {'s ' + device.type:>7}")  # fmt: skip
    for name, a, b, rel, ta, tb in rows:
        print(f"{name:<{width}}  {a:>12.5f}  {b:>13.5f}  {rel:>9.2e}  {ta:>7.1f}  {tb:>7.1f}")
    worst = max(r[3] for r in rows)
    print(f"\nlargest relative difference of the final validation loss: {worst:.2e}")


if __name__ == "__main__":
    main()
