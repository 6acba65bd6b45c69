import math
import os
import stat

import pandas as pd
import pyarrow as pa
import pytest
import torch

from aeflow.report import tables

PARAMS = {
    "architecture": "conv",
    "latent": 16,
    "hidden": 32,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 32,
    "epochs": 2,
    "initialisation": "frozen",
    "autoencoder_id": "conv-0123456789",
}
HISTORY = [
    {"epoch": e, "split": s, "metric": m, "value": float(e + i)}
    for e in (1, 2)
    for i, (s, m) in enumerate(
        [
            ("train", "loss"),
            ("train", "accuracy"),
            ("validation", "loss"),
            ("validation", "accuracy"),
        ]
    )
]
CLASSES = ["T-shirt/top", "Trouser", "Ankle boot"]


def test_slug():
    assert tables.slug("T-shirt/top") == "t_shirt_top"
    assert tables.slug("Ankle boot") == "ankle_boot"
    assert tables.slug("  Bag ") == "bag"


def test_history_frame_has_hyperparameters():
    frame = tables.history_frame(HISTORY, "classifier", "frozen-abc", 2, PARAMS)
    assert len(frame) == len(HISTORY)
    assert list(frame.columns) == [
        "kind",
        "model_id",
        "seed",
        *PARAMS,
        "epoch",
        "split",
        "metric",
        "value",
    ]
    assert (frame["model_id"] == "frozen-abc").all() and (frame["seed"] == 2).all()
    for key, value in PARAMS.items():
        assert (frame[key] == value).all(), key
    assert frame["value"].tolist() == [r["value"] for r in HISTORY]


def test_history_frame_empty_history():
    frame = tables.history_frame([], "autoencoder", "conv-x", 0, {"latent": 4})
    assert frame.empty and {"latent", "epoch", "value"} <= set(frame.columns)


def test_metrics_frame_and_classifier_values():
    scores = {
        "loss": 0.5,
        "accuracy": 0.8,
        "macro_f1": 0.7,
        "precision": [0.9, 0.8, 0.7],
        "recall": [0.6, 0.5, 0.4],
    }
    summary = {
        "final_train_loss": 0.3,
        "final_validation_loss": 0.4,
        "diverged": False,
        "diverged_epoch": None,
        "epochs_run": 2,
        "train_seconds": 1.5,
    }
    values = tables.classifier_values(scores, summary, CLASSES)
    assert values["precision_t_shirt_top"] == 0.9 and values["recall_ankle_boot"] == 0.4
    assert values["test_accuracy"] == 0.8 and values["final_validation_loss"] == 0.4
    frame = tables.metrics_frame("classifier", "frozen-abc", 1, PARAMS, values)
    assert len(frame) == 1
    assert list(frame.columns[: 3 + len(PARAMS)]) == ["kind", "model_id", "seed", *PARAMS]
    row = frame.iloc[0]
    assert row["kind"] == "classifier" and row["seed"] == 1 and row["latent"] == 16
    assert row["test_macro_f1"] == 0.7 and not row["diverged"] and row["epochs_run"] == 2


def test_confusion_frame():
    matrix = torch.tensor([[5, 1, 0], [0, 7, 2], [3, 0, 4]])
    frame = tables.confusion_frame("frozen-abc", 0, PARAMS, matrix, CLASSES)
    assert len(frame) == len(CLASSES) ** 2
    assert frame["count"].sum() == int(matrix.sum()) == 22
    assert (frame["initialisation"] == "frozen").all()
    row = frame[(frame["true_label"] == 1) & (frame["predicted_label"] == 2)].iloc[0]
    assert row["count"] == 2 and row["true_name"] == "Trouser"
    assert row["predicted_name"] == "Ankle boot"
    zeros = frame[frame["count"] == 0]
    assert len(zeros) == 3  # zeros included
    scratch = tables.confusion_frame("scratch-x", 0, {}, matrix, CLASSES)
    assert scratch["initialisation"].isna().all()


def metrics_table():
    rows = []
    for model_id, init, accs, diverged in [
        ("a", "scratch", [0.5, 0.7, 0.9], [False, False, False]),
        ("b", "frozen", [0.2, 0.4, float("nan")], [False, False, True]),
    ]:
        for seed, (acc, div) in enumerate(zip(accs, diverged)):
            rows.append(
                {
                    "model_id": model_id,
                    "seed": seed,
                    "initialisation": init,
                    "autoencoder_id": None if init == "scratch" else "conv-1",
                    "test_accuracy": acc,
                    "test_loss": 1 - acc if not div else float("inf"),
                    "diverged": div,
                }
            )
    return pd.DataFrame(rows)


def test_summarise_mean_std_seeds_and_diverged():
    out = tables.summarise(metrics_table(), ["initialisation"], ["test_accuracy", "test_loss"])
    out = out.set_index("initialisation")
    assert list(out.index) == ["frozen", "scratch"]  # sorted
    assert out.loc["scratch", "test_accuracy mean"] == pytest.approx(0.7)
    assert out.loc["scratch", "test_accuracy std"] == pytest.approx(0.2)  # sample std
    assert out.loc["scratch", "test_accuracy ci95"] == pytest.approx(4.302653 * 0.2 / math.sqrt(3))
    assert out.loc["scratch", "seeds"] == 3 and out.loc["scratch", "diverged"] == 0
    # the diverged run is left out: not nan, not inf
    assert out.loc["frozen", "test_accuracy mean"] == pytest.approx(0.3)
    assert out.loc["frozen", "test_loss mean"] == pytest.approx(0.7)
    assert math.isfinite(out.loc["frozen", "test_loss std"])
    assert out.loc["frozen", "seeds"] == 2 and out.loc["frozen", "diverged"] == 1


def test_summarise_groups_with_missing_keys():
    """Scratch classifiers have no autoencoder_id (None): they are still a group."""
    out = tables.summarise(metrics_table(), ["initialisation", "autoencoder_id"], ["test_accuracy"])
    assert len(out) == 2
    scratch = out[out["initialisation"] == "scratch"].iloc[0]
    assert pd.isna(scratch["autoencoder_id"]) and scratch["seeds"] == 3
    assert scratch["diverged"] == 0
    frozen = out[out["initialisation"] == "frozen"].iloc[0]
    assert frozen["seeds"] == 2 and frozen["diverged"] == 1


def test_summarise_group_where_every_run_diverged():
    table = metrics_table()
    table.loc[table["model_id"] == "b", "diverged"] = True
    out = tables.summarise(table, ["initialisation"], ["test_accuracy"]).set_index("initialisation")
    assert out.loc["frozen", "seeds"] == 0 and out.loc["frozen", "diverged"] == 3
    assert math.isnan(out.loc["frozen", "test_accuracy mean"])
    assert out.loc["scratch", "seeds"] == 3


def test_summarise_without_diverged_column():
    table = metrics_table().drop(columns="diverged").dropna()
    out = tables.summarise(table, ["model_id"], ["test_accuracy"]).set_index("model_id")
    assert out.loc["b", "seeds"] == 2 and "diverged" not in out.columns


# --- files -------------------------------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_write_parquet_round_trip_and_mode(tmp_path, umask_022):
    frame = tables.history_frame(HISTORY, "classifier", "frozen-abc", 0, PARAMS)
    path = tmp_path / "sub" / "history.parquet"
    tables.write_parquet(frame, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["history.parquet"]


def test_write_parquet_failure_leaves_nothing(tmp_path):
    bad = pd.DataFrame({"x": [1, "two", object()]})  # not representable in parquet
    path = tmp_path / "bad.parquet"
    with pytest.raises(pa.ArrowInvalid, match="Conversion failed for column x"):
        tables.write_parquet(bad, path)
    assert list(tmp_path.iterdir()) == []
    # an existing file is left as it was
    good = pd.DataFrame({"x": [1, 2]})
    tables.write_parquet(good, path)
    before = path.read_bytes()
    with pytest.raises(pa.ArrowInvalid, match="Conversion failed for column x"):
        tables.write_parquet(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bad.parquet"]


def test_combine_unions_columns_and_skips_empty(tmp_path):
    paths = []
    for i, frame in enumerate(
        [
            pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
            pd.DataFrame({"a": pd.Series([], dtype="int64")}),
            pd.DataFrame({"a": [3], "c": [0.5]}),
        ]
    ):
        paths.append(tmp_path / f"{i}.parquet")
        tables.write_parquet(frame, paths[-1])
    out = tables.combine(paths)
    assert out["a"].tolist() == [1, 2, 3]
    assert set(out.columns) == {"a", "b", "c"}
    assert out["c"].isna().sum() == 2
    assert tables.combine([paths[1]]).empty
    assert tables.combine([]).empty


def test_summarise_when_every_run_diverged():
    table = metrics_table().assign(diverged=True)
    out = tables.summarise(table, ["initialisation"], ["test_accuracy"])
    assert out["initialisation"].tolist() == ["frozen", "scratch"]
    assert out["seeds"].tolist() == [0, 0] and out["diverged"].tolist() == [3, 3]
    assert out["test_accuracy mean"].isna().all()


def test_varying_keeps_the_columns_that_change():
    import pandas as pd

    frame = pd.DataFrame({"lr": [0.1, 0.01], "latent": [8, 8], "hidden": ["16", "16"]})
    assert tables.varying(frame, ["latent", "lr", "hidden", "absent"], at_least="latent") == ["lr"]
    assert tables.varying(frame.iloc[:1], ["latent", "lr"], at_least="latent") == ["latent"]


def test_training_jobs_write_the_history_without_pandas(tmp_path):
    """records.write_parquet (what a training job uses) reads back as history_frame."""
    import subprocess
    import sys

    from aeflow.run import records

    history = [{"epoch": 1, "split": "train", "metric": "loss", "value": 0.5},
               {"epoch": 1, "split": "validation", "metric": "loss", "value": 0.25}]  # fmt: skip
    params = {"latent": 8, "hidden": "16-8", "autoencoder_id": None, "lr": 0.1}
    path = tmp_path / "history.parquet"
    records.write_parquet(records.history_rows(history, "classifier", "m-1", 3, params), path)
    expected = tables.history_frame(history, "classifier", "m-1", 3, params)
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected)
    # the modules a training job imports leave pandas out (a quarter-second per job)
    code = "import sys; from aeflow.run import data, devices, models, records, training; "
    code += "print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
