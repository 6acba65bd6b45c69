"""Bad input, row by row of the README's table: a non-zero exit before any training, a
message that names the problem (the whole key path, section included), and no
half-written output. Every row runs the workflow for real, never as a dry run."""

from __future__ import annotations

import copy
import gzip
import hashlib

import numpy as np
import pytest
import torch
from conftest import gzip_bytes, idx_bytes, write_idx_dataset
from test_workflow import tiny_config
from workflow_helpers import copy_workflow, run, write_config

from aeflow.run import models

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    source = root / "source"
    checksums = write_idx_dataset(source, 300, 100)
    return copy_workflow(root / "wf"), tiny_config(source, checksums), root


def set_key(config, dotted, value):
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


def schema(path: str, reason: str) -> tuple[str, str]:
    """What the schema check prints: the reason and the whole path of the bad value."""
    return (f"ValidationError: {reason}", f"On instance{path}:")


# (key, bad value, texts the output must hold: the whole key path, section included)
CONFIG_CASES = [
    ("autoencoder.base.lr", -0.1,
     schema("['autoencoder']['base']['lr']", "-0.1 is less than or equal to the minimum of 0")),
    ("autoencoder.base.lr", 0,
     schema("['autoencoder']['base']['lr']", "0 is less than or equal to the minimum of 0")),
    ("classifier.base.lr", "fast",
     ("Invalid config: classifier.base.lr: 'fast' is not a number; write a number, "
      "e.g. 0.001, 1e-3 or 1.0e-3",)),
    ("autoencoder.base.dropout", 1.0,
     schema("['autoencoder']['base']['dropout']",
            "1.0 is greater than or equal to the maximum of 1")),
    ("classifier.base.dropout", -0.2,
     schema("['classifier']['base']['dropout']", "-0.2 is less than the minimum of 0")),
    ("autoencoder.base.latent", 0,
     schema("['autoencoder']['base']['latent']", "0 is less than the minimum of 1")),
    ("autoencoder.base.batch_size", 0,
     schema("['autoencoder']['base']['batch_size']",
            "0 is not valid under any of the given schemas")),
    ("autoencoder.base.batch_size", 60_000,
     ("Invalid config: autoencoder batch_size 60000 is larger than the training set "
      "(240 images)",)),
    ("classifier.base.epochs", 0,
     schema("['classifier']['base']['epochs']", "0 is less than the minimum of 1")),
    ("autoencoder.base.architecture", "resnet",
     schema("['autoencoder']['base']['architecture']",
            "'resnet' is not one of ['conv', 'conv_bn', 'conv_deep', 'mlp']")),
    ("autoencoder.base.optimizer", "rmsprop",
     schema("['autoencoder']['base']['optimizer']", "'rmsprop' is not one of ['adam', 'sgd']")),
    ("autoencoder.base.output_activation", "tanh",
     schema("['autoencoder']['base']['output_activation']",
            "'tanh' is not one of ['sigmoid', 'relu']")),
    ("autoencoder.base.schedule", "cosine",
     schema("['autoencoder']['base']",
            "Additional properties are not allowed ('schedule' was unexpected)")),
    ("classifier.initialisations", ["scratch", "imagenet"],
     schema("['classifier']['initialisations'][1]",
            "'imagenet' is not one of ['scratch', 'frozen', 'finetune']")),
    ("autoencoder.sweeps.lr", [],
     schema("['autoencoder']['sweeps']['lr']", "[] should be non-empty")),
    ("seeds", [], schema("['seeds']", "[] should be non-empty")),
    ("autoencoder.configurations", [{"lr": 0.01}, {"lr": 0.01}],
     ("Invalid config: autoencoder.configurations[1]: expands to a configuration already in "
      "the grid",)),
    ("classifier.autoencoder", {"dropout": 0.4},
     ("Invalid config: classifier (frozen, latent 16): its autoencoder {",
      "'dropout': 0.4,",
      "is not in the autoencoder grid; add it to autoencoder.sweeps or "
      "autoencoder.configurations, or change classifier.autoencoder")),
]  # fmt: skip


@pytest.mark.parametrize(
    "key, value, expected", CONFIG_CASES, ids=[c[0] + "=" + repr(c[1]) for c in CONFIG_CASES]
)
def test_bad_config_fails_before_any_model_trains(setup, key, value, expected):
    """A real run (no --dry-run) of the whole workflow: it stops while parsing the
    config, so no job starts and nothing is written."""
    workflow, config, root = setup
    bad = set_key(copy.deepcopy(config), key, value)
    # in this process (workflow_helpers.in_process): no job may start, so none runs
    result = run(workflow, write_config(root / "bad.yaml", bad), check=False, separate=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for text in expected:
        assert text in output, output[-3000:]
    assert "Job stats:" not in output and "rule train_" not in output  # no job was planned
    for folder in ("results", "resources", "logs"):
        assert not (workflow / folder).exists(), folder
    assert list(workflow.rglob("*.pt")) == [] and list(workflow.rglob("*.parquet")) == []


def data_case(root, name):
    """A source folder whose files are broken in one way, and their configured checksums."""
    source = root / name
    checksums = write_idx_dataset(source, 300, 100)
    images = source / "train-images-idx3-ubyte.gz"
    if name == "wrong-checksum":
        checksums["train-images-idx3-ubyte.gz"] = {"md5": "0" * 32, "sha256": "0" * 64}
    elif name == "truncated":
        images.write_bytes(images.read_bytes()[:1000])
    elif name in ("wrong-magic", "not-28x28"):
        pixels = np.zeros((300, 32, 32) if name == "not-28x28" else (300, 28, 28), np.uint8)
        content = idx_bytes(pixels, magic=2049 if name == "wrong-magic" else None)
        raw = gzip_bytes(content)
        images.write_bytes(raw)
        checksums[images.name] = {
            "md5": hashlib.md5(raw).hexdigest(),
            "sha256": hashlib.sha256(gzip.decompress(raw)).hexdigest(),
        }
    return source, checksums


DATA_CASES = [
    ("wrong-checksum", "checksum mismatch", "download"),
    ("truncated", "not a valid gzip file", "download"),
    ("wrong-magic", "wrong IDX magic number 2049, expected 2051", "prepare"),
    ("not-28x28", "expected 28×28", "prepare"),
    ("unreachable", "could not fetch train-images-idx3-ubyte.gz", "download"),
]


@pytest.mark.parametrize("case, message, failing_rule", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_data_fails_with_the_file_named(setup, case, message, failing_rule):
    workflow, config, root = setup
    bad = copy.deepcopy(config)
    if case == "unreachable":
        bad["data"]["sources"] = [str(root / "no-such-folder"), "http://127.0.0.1:9/fashion"]
    else:
        source, bad["data"]["files"] = data_case(root, case)
        bad["data"]["sources"] = [str(source)]
    work = copy_workflow(root / f"wf-{case}")
    result = run(
        work, write_config(root / f"{case}.yaml", bad), "results/data/fashion_mnist.pt", check=False
    )
    logs = "".join(p.read_text() for p in (work / "logs" / "data").glob("*.log"))
    assert result.returncode != 0
    assert f"Error in rule {failing_rule}:" in result.stdout + result.stderr, result.stderr[-3000:]
    assert message in logs, logs[-3000:]
    assert "train-images-idx3-ubyte.gz" in logs
    if case == "unreachable":  # every source tried is named
        assert str(root / "no-such-folder") in logs and "127.0.0.1:9" in logs
    # nothing half-written: the file that failed its check is not in resources/ (a
    # download failure), there is no prepared dataset, and no temporary file is left
    if failing_rule == "download":
        assert not (work / "resources" / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists()
    assert not (work / "results" / "data" / "fashion_mnist.pt").exists()
    assert list(work.rglob(".*.tmp")) == []


@pytest.mark.parametrize("problem", ["other-latent", "corrupted"])
def test_bad_encoder_file_is_refused_naming_the_file(tmp_path, problem):
    path = tmp_path / "encoder.pt"
    if problem == "corrupted":
        path.write_bytes(b"PK\x03\x04 not really a checkpoint")
    else:
        ae = models.build_autoencoder(
            {"architecture": "conv", "latent": 8, "dropout": 0.0, "output_activation": "sigmoid"}
        )
        torch.save(models.encoder_export(ae, {"architecture": "conv", "latent": 8}, "conv-x"), path)
    classifier = models.build_classifier(
        {"architecture": "conv", "latent": 16, "hidden": 32, "dropout": 0.0}
    )
    with pytest.raises(models.ModelError) as info:
        models.load_encoder_state(
            classifier.encoder, models.load_checkpoint(path), "conv", 16, str(path)
        )
    assert str(path) in str(info.value)
    if problem == "other-latent":
        assert "latent 8" in str(info.value) and "latent 16" in str(info.value)
