"""aeflow.plan.plan.build: the one parse-time plan of a config (ids, seeds, packs, studies)."""

from __future__ import annotations

import copy
import re

import pytest

from aeflow.plan import grid, plan, studies
from aeflow.plan.grid import GridError

DATA = {"train_images": 60000, "validation_size": 10000, "subset": {"train": 2000}}
AE_BASE = {"architecture": "conv", "latent": 16, "dropout": 0.2, "optimizer": "adam",
           "lr": 0.001, "batch_size": 100, "output_activation": "sigmoid", "epochs": 1}  # fmt: skip
CLF_BASE = {"architecture": "conv", "latent": 16, "hidden": 32, "dropout": 0.2,
            "optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 1}  # fmt: skip


def config(pack="auto", device="auto", **extra):
    """A tiny config: two autoencoders (latent 16, 32), the base classifier from scratch
    and frozen, and a label study with its own seeds for the smallest classifiers."""
    cfg = {
        "data": dict(DATA),
        "seeds": [0, 1],
        "device": device,
        "engine": {"pack": pack, "compile": False},
        "autoencoder": {"base": dict(AE_BASE), "sweeps": {"latent": [16, 32]}},
        "classifier": {"base": dict(CLF_BASE), "initialisations": ["scratch", "frozen"]},
        "studies": {
            "labels": {
                "classifier": {"sweeps": {"labels": [100, 1000]}},
                "seeds_by_labels": [{"labels_up_to": 100, "seeds": [0, 1, 2, 3]}],
            }
        },
    }
    return {**cfg, **copy.deepcopy(extra)}


def test_build_counts_ids_and_the_main_study():
    p = plan.build(config(), gpus=0)
    assert len(p.autoencoders) == 2
    # main: scratch and frozen base; the study: its scratch base (main's) at all, 100
    # and 1000 labels
    assert len(p.classifiers) == 4
    assert all(re.fullmatch(plan.MODEL_ID, i) for i in [*p.autoencoders, *p.classifiers])
    assert list(p.studies) == [studies.MAIN, "labels"]
    base_ae = p.base_autoencoder()
    assert p.autoencoders[base_ae]["latent"] == 16
    assert p.ae_base == grid.canonical(grid.base_params(AE_BASE, grid.AUTOENCODER_KEYS), 2000)
    assert list(p.base_classifiers()) == ["scratch", "frozen"]
    frozen = p.classifiers[p.base_classifiers()["frozen"]]
    assert frozen["autoencoder_id"] == base_ae
    # ids are grid's: the same config expanded by hand gives the same ones
    assert set(grid.autoencoder_grid(config()["autoencoder"], train_size=2000)) == set(
        p.autoencoders
    )
    assert (p.train_size, p.validation_size) == (2000, 10000)
    assert p.engine == {"compile": False}  # pack is the plan's, not the scripts'


def test_study_labels_and_label_efficiency():
    p = plan.build(config(), gpus=0)
    assert p.study_labels(studies.MAIN, "classifier") == {
        "scratch": p.base_classifiers()["scratch"],
        "frozen": p.base_classifiers()["frozen"],
    }
    assert list(p.study_labels("labels", "classifier")) == ["base", "labels=100", "labels=1000"]
    assert p.label_efficiency_studies() == ["labels"]
    assert not p.label_efficiency_study(studies.MAIN)
    assert "label_efficiency.png" in p.study_figure_names("labels")
    data = p.study_data()["labels"]
    assert type(data) is dict and data == dict(p.studies["labels"])
    assert list(data)[:3] == ["name", "title", "source"]


def test_seeds_by_kind_follow_the_studies():
    p = plan.build(config(), gpus=0)
    few = p.study_labels("labels", "classifier")["labels=100"]
    assert p.classifiers[few]["labels"] == 100
    assert p.run_seeds["classifier"][few] == [0, 1, 2, 3]
    others = [i for i in p.classifiers if i != few]
    assert all(p.run_seeds["classifier"][i] == [0, 1] for i in others)
    assert all(s == [0, 1] for s in p.run_seeds["autoencoder"].values())
    assert p.trainings() == 2 * 2 + 3 * 2 + 4  # autoencoders, classifiers, the 100-label one


def test_packs_on_a_gpu_only_the_configurations_with_the_run_seeds():
    on_cpu = plan.build(config(), gpus=0)
    assert (on_cpu.device, on_cpu.training_gpu, on_cpu.pack) == ("cpu", 0, False)
    assert on_cpu.packed == {"autoencoder": frozenset(), "classifier": frozenset()}
    assert on_cpu.job_ids("classifier", pack=False) == plan.MODEL_ID
    assert on_cpu.job_ids("classifier", pack=True) == plan.NO_MATCH

    on_gpu = plan.build(config(), gpus=1)
    assert (on_gpu.device, on_gpu.training_gpu, on_gpu.pack) == ("cuda", 1, True)
    few = on_gpu.study_labels("labels", "classifier")["labels=100"]
    assert on_gpu.packed["autoencoder"] == set(on_gpu.autoencoders)
    assert on_gpu.packed["classifier"] == set(on_gpu.classifiers) - {few}
    assert on_gpu.per_seed_ids("classifier") == {few}
    assert on_gpu.job_ids("classifier", pack=False) == re.escape(few)
    packs = on_gpu.job_ids("classifier", pack=True).split("|")
    assert sorted(packs) == packs and len(packs) == 3

    forced_off = plan.build(config(pack=False), gpus=1)
    assert not forced_off.pack and not forced_off.packed["classifier"]


def test_a_grid_error_names_the_key():
    bad = config()
    bad["autoencoder"]["sweeps"] = {"colour": [1]}
    with pytest.raises(GridError, match=r"autoencoder\.sweeps\.colour: unknown hyperparameter"):
        plan.build(bad, gpus=0)
    bad = config()
    bad["studies"]["labels"]["classifier"]["sweeps"]["labels"] = [3000]
    with pytest.raises(GridError, match=r"studies\.labels\.classifier labels 3000 is more"):
        plan.build(bad, gpus=0)


def test_study_type_reads_as_attributes_and_as_a_mapping():
    study = plan.build(config(), gpus=0).studies[studies.MAIN]
    assert isinstance(study, studies.Study)
    assert study.classifiers == study["classifiers"]
    assert study.several_initialisations
    with pytest.raises(KeyError):
        study["nope"]
    with pytest.raises(AttributeError):
        study.title = "changed"  # frozen
    assert studies.initialised_label("frozen", "base") == "frozen"
    assert studies.initialised_label("frozen", "lr=0.01") == "frozen: lr=0.01"
