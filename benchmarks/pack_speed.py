"""Training speed of one model alone against packs of K (aeflow.run.packed), on any device.

Trains report 000's default autoencoder (latent 64, dropout 0.2, Adam lr 1e-3, batch 100,
Sigmoid output, MSE; the same as ``benchmarks/train_speed.py``) on the workflow's
training split (50 000 images, or the first ``--subset``):

* ``alone``: :func:`aeflow.run.training.train`, one model, the engine the workflow's
  per-seed jobs run;
* ``pack K``: :func:`aeflow.run.packed.train_pack`, K seeds of the same configuration as
  one stacked model, the engine of a pack job (``engine.pack``).

Each row with and without ``torch.compile`` where asked (``--compile``: the default mode,
and on CUDA ``reduce-overhead``, i.e. CUDA graphs). Every variant runs in its own process
for ``--epochs`` epochs (validation on a token 100 images), ``--repeats`` times in an
alternating order; the table shows the last epoch (the first one includes compilation),
median over repeats, as training images per second aggregated over the models trained
together, and the speed-up over the model alone.

    .venv/bin/python benchmarks/pack_speed.py                            # the CPU table
    .venv/bin/python benchmarks/pack_speed.py --device cuda --packs 3 8 32 --compile
    .venv/bin/python benchmarks/pack_speed.py --subset 2000 --packs 3   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_speed import AE_PARAMS, DATA_DIR, prepare_data  # noqa: E402


def worker(job: dict) -> dict:
    import torch

    from aeflow.run import devices, packed, training

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    device = devices.select_device(job["device"])
    split = torch.load(job["data"], weights_only=True)
    if job["subset"]:
        for part in ("train", "test"):
            split[f"{part}_images"] = split[f"{part}_images"][: job["subset"]]
            split[f"{part}_labels"] = split[f"{part}_labels"][: job["subset"]]
    split["validation_images"] = split["validation_images"][:100]
    split["validation_labels"] = split["validation_labels"][:100]
    params = {**AE_PARAMS, "epochs": job["epochs"]}
    engine = {"compile": job["compile"] is not None}
    lines = []
    if job["k"] == 0:  # the model alone
        model = training.autoencoder_to_train(params, 0)
        options = training.TrainOptions.from_params(
            "autoencoder", params, 0, len(split["train_images"]), engine
        )
        if job["compile"] not in (None, "default"):
            return {"skipped": "the single-model engine compiles in the default mode only"}
        training.run(model, split, options, device, log=lines.append)
        models = 1
    else:
        members = []
        for seed in range(job["k"]):
            model = training.autoencoder_to_train(params, seed)
            rng = torch.get_rng_state()
            options = training.TrainOptions.from_params(
                "autoencoder", params, seed, len(split["train_images"]), engine
            )
            members.append(packed.Member(model, split, options, rng, name=f"seed {seed}"))
        mode = None if job["compile"] in (None, "default") else job["compile"]
        packed.train_pack(members, device, log=lines.append, compile_mode=mode)
        models = job["k"]
    # the epoch's seconds: alone, its line's; in a pack, each member's line carries its
    # share, and the shares add up to the pack's epoch
    last = [ln for ln in lines if f"epoch {job['epochs']}/" in ln]
    seconds = sum(float(ln.rsplit("seconds=", 1)[1]) for ln in last)
    return {
        "seconds": seconds,
        "models": models,
        "n_train": len(split["train_images"]),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


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
        return {"failed": out.stderr.strip().splitlines()[-1] if out.stderr else "no output"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--packs", type=int, nargs="+", default=[3, 8], help="pack sizes K")
    parser.add_argument("--epochs", type=int, default=2, help="the last one is measured")
    parser.add_argument("--subset", type=int, default=None, help="first N training images")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--repeats", type=int, default=1, help="processes per variant")
    parser.add_argument(
        "--compile", action="store_true", help="also with torch.compile (and CUDA graphs on CUDA)"
    )
    parser.add_argument("--data", default=DATA_DIR, help="folder of the four IDX .gz files")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    modes = [None]
    if args.compile:
        modes += ["default"] + (["reduce-overhead"] if args.device.startswith("cuda") else [])
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "split.pt"
        prepare_data(args.data, data_path)
        print("command: " + " ".join([Path(sys.executable).name, *sys.argv]), flush=True)
        variants = [(mode, k) for mode in modes for k in [0, *args.packs]]
        seconds: dict = {v: [] for v in variants}
        info = failed = None
        for repeat in range(args.repeats):
            # alternate the order, so that a change of the machine's load hits all alike
            for mode, k in variants if repeat % 2 == 0 else variants[::-1]:
                job = {"k": k, "compile": mode, "data": str(data_path), "device": args.device,
                       "epochs": args.epochs, "subset": args.subset, "threads": args.threads}  # fmt: skip
                result = run_worker(args, job)
                label = f"{'alone' if k == 0 else f'pack of {k}'} {mode or 'eager'}"
                if "seconds" not in result:
                    failed = result.get("failed") or result.get("skipped")
                    seconds[mode, k] = failed
                    print(f"  {label}: {failed}", file=sys.stderr, flush=True)
                    continue
                if isinstance(seconds[mode, k], list):
                    seconds[mode, k].append(result["seconds"])
                info = result
                print(f"  {label}: {result['seconds']:.2f} s", file=sys.stderr, flush=True)
        rows, base = [], None  # base: the model alone, eager
        for mode, k in variants:
            label = "alone" if k == 0 else f"pack of {k}"
            measured = seconds[mode, k]
            if not isinstance(measured, list) or not measured:
                rows.append(f"| {label} | {mode or 'eager'} | {measured} | | | | |")
                continue
            sec = statistics.median(measured)
            models = max(k, 1)
            speed = models * info["n_train"] / sec
            base = base or speed
            rows.append(
                f"| {label} | {mode or 'eager'} | {sec:.2f} | {speed:,.0f} | {speed / base:.2f}x "
                f"| {sec / models:.2f} | {' '.join(f'{x:.2f}' for x in measured)} |"
            )
        print(
            f"\ndevice {info['device']}, torch {info['torch']}, {info['threads']} threads, "
            f"{info['n_train']} training images, epoch {args.epochs} of {args.epochs}, "
            f"medians of {args.repeats} repeat(s)\n"
        )
        print(
            "| models | compiled | s / epoch | train images/s (all models) | vs alone "
            "| s / epoch / model | each repeat (s) |"
        )
        print("|---|---|---|---|---|---|---|")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
