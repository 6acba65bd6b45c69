"""The hyperparameter registry (aeflow/plan/hyperparameters.py): the schema file's generated
block, defaults against their own schema, ids of known configurations, errors that name
the key, and the implementations' allowed values."""

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from aeflow.plan import grid, hyperparameters
from aeflow.plan.grid import GridError
from aeflow.plan.hyperparameters import HYPERPARAMETERS
from aeflow.run import models, training

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "config" / "schema.yaml"
REGENERATE = "python -m aeflow.plan.hyperparameters config/schema.yaml"
SCHEMA = yaml.load(SCHEMA_FILE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


# --- config/schema.yaml ------------------------------------------------------------------


def test_the_schema_files_generated_block_is_the_registrys():
    assert hyperparameters.file_block(SCHEMA_FILE) == hyperparameters.schema_block(), (
        f"config/schema.yaml's generated block differs from the registry: run {REGENERATE}"
    )


def test_the_generated_yaml_reads_back_as_the_registrys_definitions():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    written = SCHEMA["definitions"]
    for name, fragment in hyperparameters.definitions().items():
        assert written[name] == fragment, name
    # the bases the top-level grids use are the generated ones
    properties = SCHEMA["properties"]
    for model, prefix in hyperparameters.SCHEMA_PREFIX.items():
        assert properties[model]["properties"]["base"]["$ref"] == f"#/definitions/{prefix}_base"


def test_writing_the_schema_replaces_only_the_block(tmp_path):
    stale = SCHEMA_FILE.read_text().replace(
        "  lr: {type: number", "  lr: {type: integer"
    )  # an edit by hand inside the block
    assert stale != SCHEMA_FILE.read_text()
    path = tmp_path / "schema.yaml"
    path.write_text(stale)
    assert hyperparameters.file_block(path) != hyperparameters.schema_block()
    assert hyperparameters.main([str(path)]) == 0
    assert path.read_text() == SCHEMA_FILE.read_text()
    assert hyperparameters.write_schema(path) is False  # already up to date


def test_a_schema_without_markers_is_an_error_naming_the_file(tmp_path, capsys):
    path = tmp_path / "schema.yaml"
    path.write_text("definitions: {}\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        hyperparameters.write_schema(path)
    assert hyperparameters.main([str(path)]) == 1
    assert "no generated block" in capsys.readouterr().err
    assert hyperparameters.main([]) == 2


def test_the_emitter_quotes_what_yaml_would_misread():
    values = ["none", "yes", "16-32", "1e-3", "a: b", "#x", 'say "hi"', "η₀", "max-avg"]
    for value in [*values, 1e-05, 0.0, 1.0, True, None, 3]:
        assert yaml.safe_load(f"k: {hyperparameters._flow(value)}") == {"k": value}, value


# --- defaults ------------------------------------------------------------------------------


def fragment_schema(name):
    """A hyperparameter's fragment with the generated definitions its $refs point to."""
    return {**HYPERPARAMETERS[name].schema, "definitions": hyperparameters.definitions()}


@pytest.mark.parametrize("name", list(HYPERPARAMETERS))
def test_every_default_validates_against_its_own_schema(name):
    h = HYPERPARAMETERS[name]
    if h.default is None:  # "left out": only a key absent at its default may have none
        assert h.at_default == hyperparameters.ABSENT
        return
    jsonschema.Draft202012Validator(fragment_schema(name)).validate(h.default)


def test_empty_bases_get_every_default_from_the_schema():
    """snakemake's validate fills the defaults through the bases' $ref."""
    config = {"autoencoder": {"base": {}}, "classifier": {"base": {}}}
    validate(config, str(SCHEMA_FILE))
    for model in hyperparameters.BOTH:
        expected = {
            k: HYPERPARAMETERS[k].default
            for k in hyperparameters.keys(model)
            if HYPERPARAMETERS[k].default is not None
        }
        assert config[model]["base"] == expected
        assert list(config[model]["base"]) == list(expected)  # in the registry's order


def test_grid_lists_come_from_the_registry():
    assert grid.AUTOENCODER_KEYS == tuple(
        k for k, h in HYPERPARAMETERS.items() if "autoencoder" in h.models
    )
    assert set(grid.CLASSIFIER_KEYS) - set(grid.AUTOENCODER_KEYS) == {
        "hidden", "dropout_at", "labels", "images", "min_steps",
    }  # fmt: skip
    assert grid.ENCODER_KEYS == (
        "architecture", "latent", "channels", "pooling", "downsampling", "bottleneck",
    )  # fmt: skip
    assert grid.WIDTH_KEYS == ("channels", "hidden")
    assert models.encoder_options({}) == {
        "channels": "16-32", "pooling": "max", "downsampling": "stride", "bottleneck": True,
    }  # fmt: skip


def test_complete_fills_every_hyperparameter_of_the_kind_and_keeps_the_rest():
    params = {"architecture": "mlp", "latent": 128, "lr": 0.01, "initialisation": "frozen",
              "autoencoder_id": None}  # fmt: skip
    clf = hyperparameters.complete(params, "classifier")
    assert set(clf) == set(grid.CLASSIFIER_KEYS) | {"initialisation", "autoencoder_id"}
    assert clf["lr"] == 0.01 and clf["architecture"] == "mlp"  # given values win
    assert clf["initialisation"] == "frozen" and clf["autoencoder_id"] is None
    # keys that ids and params leave out at their default come back with it
    assert (clf["labels"], clf["images"], clf["min_steps"]) == (None, None, 0)
    assert (clf["dropout_at"], clf["hidden"], clf["momentum"]) == ("hidden", 128, 0.0)
    ae = hyperparameters.complete({"latent": 16}, "autoencoder")
    assert set(ae) == set(grid.AUTOENCODER_KEYS)
    assert (ae["latent"], ae["decoder"], ae["output_dropout"], ae["bottleneck"]) == (
        16, "consigna", False, True,
    )  # fmt: skip
    assert "min_steps" not in ae  # a classifier's only
    assert params == {"architecture": "mlp", "latent": 128, "lr": 0.01,
                      "initialisation": "frozen", "autoencoder_id": None}  # not changed  # fmt: skip
    with pytest.raises(ValueError, match="kind must be one of autoencoder, classifier"):
        hyperparameters.complete({}, "encoder")


# --- ids ---------------------------------------------------------------------------------

AE = {"architecture": "conv", "latent": 64, "dropout": 0.2, "optimizer": "adam", "lr": 0.001,
      "batch_size": 100, "output_activation": "sigmoid", "epochs": 30}  # fmt: skip
CLF = {"architecture": "conv", "latent": 64, "hidden": 128, "dropout": 0.2, "optimizer": "adam",
       "lr": 0.001, "batch_size": 100, "epochs": 30}  # fmt: skip
SCRATCH = {"initialisation": "scratch", "autoencoder_id": None}
PRETRAINED = {"autoencoder_id": "conv-0123456789"}
# Computed before the registry existed (grid.py with its own key lists, DEFAULTS,
# ID_SILENT_DEFAULTS and ABSENT_AT_DEFAULT); a training set of 50 000 images.
PINNED = [
    ("conv-2d6577c20e", "conv", {}),
    ("conv-d57bb5aafa", "conv", {"lr": 0.01}),
    ("conv_bn-54859edbfe", "conv_bn", {"architecture": "conv_bn", "decoder_batch_norm": False,
                                       "channels": [64, 96], "pooling": "max-avg", "dropout": 0.0}),
    ("conv_bn-cb868e551c", "conv_bn", {"architecture": "conv_bn", "channels": "64-96",
                                       "pooling": "max-avg", "dropout": 0.0}),
    ("mlp-d07fa57dc7", "mlp", {"architecture": "mlp", "latent": 512, "batch_size": "full"}),
    ("conv-e30f4ec11c", "conv", {"optimizer": "sgd", "momentum": 0.9, "lr_schedule": "exponential",
                                 "lr_gamma": 0.95, "patience": 5, "weight_decay": 1e-4}),
    ("scratch-09c6d5f1d9", "scratch", SCRATCH),
    ("frozen-0ab6a3b53b", "frozen", {"initialisation": "frozen", **PRETRAINED}),
    ("scratch-895aab15b5", "scratch", {**SCRATCH, "hidden": "none", "dropout_at": "flatten"}),
    ("scratch-78391a248e", "scratch", {**SCRATCH, "hidden": [128, 64]}),
    ("scratch-05174fdd54", "scratch", {**SCRATCH, "labels": 100, "min_steps": 3000}),
    ("finetune-7a36e0dcc5", "finetune", {"initialisation": "finetune", "labels": 1000,
                                         **PRETRAINED}),
    ("scratch-7436f903b3", "scratch", {**SCRATCH, "architecture": "mlp", "latent": 128,
                                       "hidden": 64, "optimizer": "sgd", "lr": 0.01,
                                       "batch_size": 50}),
]  # fmt: skip


@pytest.mark.parametrize("expected, prefix, overrides", PINNED, ids=[p[0] for p in PINNED])
def test_ids_of_known_configurations_are_pinned(expected, prefix, overrides):
    kind = "autoencoder" if "initialisation" not in overrides else "classifier"
    base = AE if kind == "autoencoder" else CLF
    params = grid.base_params({**base, **overrides}, hyperparameters.keys(kind))
    params.update({k: v for k, v in overrides.items() if k not in params})
    assert grid.config_id(prefix, grid.canonical(params, 50_000)) == expected


def test_keys_at_their_default_stay_out_of_ids_params_or_both():
    params = grid.canonical(grid.base_params(CLF, grid.CLASSIFIER_KEYS))
    for name, h in HYPERPARAMETERS.items():
        if "classifier" not in h.models:
            continue
        assert (name in params) == (h.at_default != hyperparameters.ABSENT), name
    shown = grid.config_id("scratch", {**params, **SCRATCH})
    without = {k: v for k, v in params.items() if k != "dropout_at"}
    assert grid.config_id("scratch", {**without, **SCRATCH}) == shown  # OUT_OF_ID


def test_labels_print_as_name_equals_value():
    base = grid.canonical(grid.base_params(CLF, grid.CLASSIFIER_KEYS))
    params = {**base, "lr": 0.01, "labels": 100}
    assert grid.describe(params, base) == "lr=0.01, labels=100"
    assert hyperparameters.label("hidden", "128-64") == "hidden=128-64"
    with_init = {**base, "initialisation": "frozen"}
    assert grid.describe({**with_init, "lr": 0.01}, with_init) == "lr=0.01"
    assert grid.describe({**with_init, "initialisation": "scratch"}, with_init) == (
        "initialisation=scratch"
    )


# --- errors name the key -----------------------------------------------------------------


VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def schema_error(config) -> str:
    """Where the schema check says the bad value is (the error snakemake's validate
    raises, jsonschema's best match; the snakemake call itself is slow)."""
    error = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(config))
    assert error is not None, config
    return "".join(f"[{p!r}]" for p in error.absolute_path)


def test_snakemakes_validate_names_the_key():
    config = {"autoencoder": {"base": {}}, "classifier": {"base": {"labels": 0}}}
    with pytest.raises(WorkflowError) as raised:
        validate(config, str(SCHEMA_FILE))
    assert "On instance['classifier']['base']['labels']:" in str(raised.value)
    assert schema_error(config) == "['classifier']['base']['labels']"


def where(*path) -> str:
    return "".join(f"[{p!r}]" for p in path)


@pytest.mark.parametrize("name", list(HYPERPARAMETERS))
def test_a_bad_value_fails_the_schema_naming_its_key_everywhere_it_may_appear(name):
    """A base, a sweep, an explicit configuration and a study's base, of each model kind
    that has the key: the error's path ends at the key (or the sweep's value)."""
    bad = {"not": "a value"}  # no hyperparameter's schema takes an object
    for model in HYPERPARAMETERS[name].models:
        other = "classifier" if model == "autoencoder" else "autoencoder"
        empty = {other: {"base": {}}}
        config = {**empty, model: {"base": {name: bad}}}
        assert schema_error(config) == where(model, "base", name)
        config = {**empty, model: {"base": {}, "sweeps": {name: [bad]}}}
        assert schema_error(config) == where(model, "sweeps", name, 0)
        config = {**empty, model: {"base": {}, "configurations": [{name: bad}]}}
        assert schema_error(config) == where(model, "configurations", 0, name)
        study = {model: {"base": {name: bad}}}
        config = {**empty, model: {"base": {}}, "studies": {"s": study}}
        assert schema_error(config) == where("studies", "s", model, "base", name)


@pytest.mark.parametrize(
    "name, value",
    [("latent", 0), ("epochs", 1.5), ("labels", 0), ("labels", True), ("min_steps", -1),
     ("patience", "3"), ("lr_epochs", 0)],
)  # fmt: skip
def test_a_bad_whole_number_fails_the_grid_naming_its_key(name, value):
    with pytest.raises(GridError, match=rf"^{name}: expected a whole number"):
        grid.canonical({**CLF, name: value})


def test_a_batch_larger_than_the_training_images_names_where():
    cfg = {"base": {**AE, "batch_size": 300}, "sweeps": {}, "configurations": []}
    with pytest.raises(GridError, match=r"^studies.x.autoencoder batch_size 300 is larger than "
                       r"the training set \(240 images\)$"):  # fmt: skip
        grid.autoencoder_grid(cfg, "studies.x.autoencoder", train_size=240)
    clf = {"base": {**CLF, "labels": 50, "batch_size": 100}, "initialisations": ["scratch"]}
    with pytest.raises(GridError, match=r"batch_size 100 is larger than its labels \(50 "):
        grid.classifier_grid(clf, AE, {}, train_size=240)
    clf["base"].update(labels=500)
    with pytest.raises(GridError, match="labels 500 is more than the training set"):
        grid.classifier_grid(clf, AE, {}, train_size=240)
    assert grid.batch_size_error(0, 10) == "batch_size 0 is less than 1"
    assert grid.batch_size_error(10, 10) is None


# --- the implementations take the values the registry allows ------------------------------


@pytest.mark.parametrize(
    "name, implemented",
    [
        ("architecture", models.ARCHITECTURES),
        ("output_activation", models.ACTIVATIONS),
        ("pooling", models.POOLINGS),
        ("dropout_at", models.DROPOUT_PLACES),
        ("decoder", models.DECODER_LAYOUTS),
        ("optimizer", training.OPTIMIZERS),
        ("lr_schedule", training.SCHEDULES),
    ],
)
def test_allowed_values_are_the_implemented_ones(name, implemented):
    assert HYPERPARAMETERS[name].schema["enum"] == list(implemented)


@pytest.mark.parametrize(
    ("name", "value", "architecture", "elsewhere"),
    [
        ("decoder_batch_norm", False, "conv_bn", "conv"),
        ("downsampling", "max-pool", "conv_deep", "conv"),
        ("output_dropout", True, "conv", "conv_bn"),
        ("decoder", "tabla-2", "conv", "mlp"),
        ("bottleneck", False, "conv", "conv_deep"),
    ],
)
def test_architecture_only_keys_are_refused_elsewhere(name, value, architecture, elsewhere):
    assert architecture in HYPERPARAMETERS[name].architectures
    assert elsewhere not in HYPERPARAMETERS[name].architectures
    cfg = {"base": {**AE, name: value, "architecture": elsewhere}, "sweeps": {},
           "configurations": []}  # fmt: skip
    with pytest.raises(
        GridError, match=f"{name}: {value!r} applies to architecture {architecture}"
    ):
        grid.autoencoder_grid(copy.deepcopy(cfg))
    cfg["base"]["architecture"] = architecture
    if name == "bottleneck":  # without it the encoder's output is its 32 × 5 × 5 features
        cfg["base"]["latent"] = 800
    assert len(grid.autoencoder_grid(cfg)) == 1


def test_every_architecture_only_key_is_tested():
    restricted = {n for n, h in HYPERPARAMETERS.items() if h.architectures}
    assert restricted == {
        "decoder_batch_norm", "downsampling", "output_dropout", "decoder", "bottleneck",
    }  # fmt: skip


def test_the_configuration_docs_name_every_hyperparameter():
    docs = (ROOT / "docs" / "configuration.md").read_text()
    table = docs[docs.index("| key | values | meaning |") :]
    missing = [n for n in HYPERPARAMETERS if f"`{n}`" not in table.split("\n\n")[0]]
    assert not missing, f"docs/configuration.md's hyperparameter table lacks {missing}"
