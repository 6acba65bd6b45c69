"""Scientific notation where the config schema expects a number (YAML reads 1e-3 as text)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from aeflow.plan import schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "config" / "schema.yaml"
SCHEMA = schema.load(SCHEMA_FILE)

WRITTEN = """
autoencoder:
  base: {lr: 1e-3, weight_decay: 5e-4, epochs: 3, channels: 16-32, batch_size: full}
  sweeps: {lr: [1e-3, 5e-4, 0.01], channels: ["16-32", 8-16]}
  configurations: [{lr: 5e-4, dropout: 2e-1}]
classifier:
  base: {lr: 5e-4, momentum: 9e-1, architecture: conv}
  sweeps: {lr: [1e-2, 1e-3]}
  configurations: [{lr: 1E-4, lr_schedule: exponential, lr_gamma: 9.5e-1}]
studies:
  s1:
    autoencoder: {base: {lr: 2e-3}}
    classifier: {base: {lr: 3e-4}, sweeps: {weight_decay: [0, 1e-4]}}
data: {subset: {train: 2e3, validation: 500, test: 1e3}}
"""


def test_yaml_reads_scientific_notation_as_text():
    assert yaml.safe_load("lr: 1e-3") == {"lr": "1e-3"}  # why this module exists
    assert yaml.safe_load("lr: 1.0e-3") == {"lr": 0.001}


def test_numbers_in_scientific_notation_are_read_and_validate():
    config = schema.read_numbers(yaml.safe_load(WRITTEN), SCHEMA)
    ae, clf = config["autoencoder"], config["classifier"]
    assert ae["base"]["lr"] == 0.001 and ae["base"]["weight_decay"] == 0.0005
    assert ae["sweeps"]["lr"] == [0.001, 0.0005, 0.01]
    assert ae["configurations"] == [{"lr": 0.0005, "dropout": 0.2}]
    assert clf["base"] == {"lr": 0.0005, "momentum": 0.9, "architecture": "conv"}
    assert clf["sweeps"]["lr"] == [0.01, 0.001]
    assert clf["configurations"][0]["lr"] == 0.0001 and clf["configurations"][0]["lr_gamma"] == 0.95
    assert config["studies"]["s1"]["autoencoder"]["base"]["lr"] == 0.002
    assert config["studies"]["s1"]["classifier"]["sweeps"]["weight_decay"] == [0, 0.0001]
    # integer keys take whole numbers only, as integers
    assert config["data"]["subset"] == {"train": 2000, "validation": 500, "test": 1000}
    assert isinstance(config["data"]["subset"]["train"], int)
    validate(config, str(SCHEMA_FILE))  # raises if any of them were left as text


def test_strings_where_strings_belong_are_untouched():
    config = schema.read_numbers(yaml.safe_load(WRITTEN), SCHEMA)
    ae = config["autoencoder"]
    assert ae["base"]["channels"] == "16-32" and ae["base"]["batch_size"] == "full"
    assert ae["sweeps"]["channels"] == ["16-32", "8-16"]
    assert config["classifier"]["configurations"][0]["lr_schedule"] == "exponential"
    # a batch size (integer or "full") written 1e2 is not a number here: the schema says why
    assert schema.read_numbers({"autoencoder": {"base": {"batch_size": "1e2"}}}, SCHEMA) == {
        "autoencoder": {"base": {"batch_size": "1e2"}}
    }


def test_numbers_already_read_are_unchanged():
    config = yaml.safe_load("autoencoder: {base: {lr: 0.001, epochs: 3}}\nseeds: [0, 1]")
    assert schema.read_numbers(copy.deepcopy(config), SCHEMA) == config


@pytest.mark.parametrize(
    "text, where, hint",
    [
        ("autoencoder: {base: {lr: fast}}", "autoencoder.base.lr: 'fast' is not a number", "1e-3"),
        ("classifier: {base: {lr: fast}}", "classifier.base.lr: 'fast' is not a number", "1e-3"),
        ("classifier: {sweeps: {lr: [1e-3, slow]}}", "classifier.sweeps.lr[1]: 'slow'", "0.001"),
        ("autoencoder: {base: {lr: nan}}", "autoencoder.base.lr: 'nan' is not a number", "1e-3"),
        ("autoencoder: {base: {lr: 1_0e-3}}", "autoencoder.base.lr: '1_0e-3'", "1e-3"),
        ("autoencoder: {base: {epochs: 1.55e1}}", "base.epochs: '1.55e1'", "digits only"),
        ("data: {subset: {train: many, validation: 1, test: 1}}", "subset.train", "digits only"),
    ],
)
def test_text_that_is_no_number_is_refused_with_how_to_write_it(text, where, hint):
    with pytest.raises(schema.NumberError) as raised:
        schema.read_numbers(yaml.safe_load(text), SCHEMA)
    assert where in str(raised.value) and hint in str(raised.value)


def test_refs_in_the_schema_are_resolved():
    root = {"definitions": {"x": {"$ref": "#/definitions/y"}, "y": {"type": "number"}}}
    node = {"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}}
    assert schema.read_numbers({"a": "2e0"}, {**root, **node}) == {"a": 2.0}
    circular = {
        "definitions": {"x": {"$ref": "#/definitions/x"}},
        "properties": {"a": {"$ref": "#/definitions/x"}},
    }
    with pytest.raises(ValueError, match="circular"):
        schema.read_numbers({"a": "1"}, {"type": "object", **circular})


def test_a_studys_seeds_are_validated():
    """A study's seeds and seeds_by_labels follow the top-level seeds' rules."""

    def study(**keys):
        config = schema.read_numbers(yaml.safe_load(WRITTEN), SCHEMA)
        config["studies"]["s1"].update(keys)
        return config

    validate(study(seeds=[0, 1], seeds_by_labels=[{"labels_up_to": 1000, "seeds": [0, 5]}]),
             str(SCHEMA_FILE))  # fmt: skip
    for bad, why in [
        ({"seeds": []}, "should be non-empty"),
        ({"seeds": [1, 1]}, "non-unique elements"),
        ({"seeds_by_labels": [{"labels_up_to": 100}]}, "'seeds' is a required property"),
        ({"seeds_by_labels": [{"labels_up_to": 0, "seeds": [0]}]}, "less than the minimum"),
    ]:
        with pytest.raises(Exception, match=why):
            validate(study(**bad), str(SCHEMA_FILE))
