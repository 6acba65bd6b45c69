import copy
import hashlib

import pytest

from aeflow.plan import grid
from aeflow.plan.grid import GridError
from aeflow.plan.hyperparameters import ABSENT, HYPERPARAMETERS

AE_BASE = {
    "architecture": "conv",
    "latent": 64,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 100,
    "output_activation": "sigmoid",
    "epochs": 30,
}
CLF_BASE = {
    "architecture": "conv",
    "latent": 64,
    "hidden": 128,
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 100,
    "epochs": 30,
}


# the defaults of the keys autoencoders have (dropout_at is a classifier's only)
AE_DEFAULTS = {k: v for k, v in grid.DEFAULTS.items() if k in grid.AUTOENCODER_KEYS}


def ae_cfg(sweeps=None, configurations=None):
    return {"base": dict(AE_BASE), "sweeps": sweeps or {}, "configurations": configurations or []}


def clf_cfg(sweeps=None, initialisations=("scratch", "frozen", "finetune"), autoencoder=None):
    return {
        "base": dict(CLF_BASE),
        "sweeps": sweeps or {},
        "configurations": [],
        "initialisations": list(initialisations),
        "autoencoder": autoencoder or {},
    }


# --- identifiers ---------------------------------------------------------------------


def test_id_independent_of_key_order():
    reordered = dict(reversed(list(AE_BASE.items())))
    assert list(reordered) != list(AE_BASE)
    assert grid.config_id("conv", reordered) == grid.config_id("conv", AE_BASE)


def test_id_is_stable_and_well_formed():
    first = grid.config_id("conv", AE_BASE)
    assert first == grid.config_id("conv", copy.deepcopy(AE_BASE))
    prefix, digest = first.split("-")
    assert prefix == "conv" and len(digest) == 10 and int(digest, 16) >= 0
    # Pinned: ids name files in results/; they must not change between versions
    # unless the hashing scheme is changed on purpose.
    assert first == "conv-0376cff0ee"
    pinned = grid.config_id("x", {"c": 0.5, "b": "y", "a": 1})
    expected = hashlib.sha1(b'{"a":1,"b":"y","c":0.5}').hexdigest()[:10]
    assert pinned == f"x-{expected}"


def test_id_changes_with_each_value_and_prefix():
    base_id = grid.config_id("conv", AE_BASE)
    changed = {
        "latent": 32,
        "dropout": 0.5,
        "optimizer": "sgd",
        "lr": 0.01,
        "batch_size": 50,
        "output_activation": "relu",
        "epochs": 2,
    }
    ids = {base_id}
    for key, value in changed.items():
        new = grid.config_id("conv", {**AE_BASE, key: value})
        assert new != base_id, key
        ids.add(new)
    assert len(ids) == len(changed) + 1
    assert grid.config_id("frozen", AE_BASE) != base_id


def test_changing_one_configuration_changes_only_its_id():
    before = grid.autoencoder_grid(ae_cfg({"latent": [16, 32]}))
    after = grid.autoencoder_grid(ae_cfg({"latent": [16, 48]}))
    assert len(before) == len(after) == 3
    common = set(before) & set(after)
    assert len(common) == 2  # the base and latent 16 keep their ids
    (old,) = set(before) - common
    (new,) = set(after) - common
    assert before[old]["latent"] == 32 and after[new]["latent"] == 48


def test_canonical_sorts_and_types():
    out = grid.canonical({"b": 2, "a": 0.5, "c": "x", "d": True, "e": None})
    assert list(out) == ["a", "b", "c", "d", "e"]
    assert out["d"] is True and out["e"] is None and isinstance(out["b"], int)
    with pytest.raises(GridError, match="k"):
        grid.canonical({"k": [1, 2]})


# --- expand --------------------------------------------------------------------------


def test_expand_base_then_sweeps_in_order_merging_base_values():
    out = grid.expand(
        AE_BASE,
        {"latent": [16, 64, 128], "optimizer": ["sgd", "adam"]},
        [],
        "autoencoder",
    )
    assert out[0] == grid.canonical(AE_BASE)
    assert [(p["latent"], p["optimizer"]) for p in out] == [
        (64, "adam"),
        (16, "adam"),
        (128, "adam"),
        (64, "sgd"),
    ]
    # Every entry differs from the base in one key at most.
    for params in out[1:]:
        assert sum(params[k] != AE_BASE[k] for k in AE_BASE) == 1


def test_expand_same_sweep_value_twice_is_merged():
    out = grid.expand(AE_BASE, {"latent": [16, 16], "dropout": [0.2]}, [], "autoencoder")
    assert len(out) == 2


def test_expand_explicit_configurations_come_last():
    out = grid.expand(
        AE_BASE, {"latent": [16]}, [{"latent": 16, "optimizer": "sgd"}], "autoencoder"
    )
    assert len(out) == 3
    assert out[-1] == grid.canonical({**AE_BASE, "latent": 16, "optimizer": "sgd"})


def test_explicit_configuration_duplicating_grid_entry_raises():
    with pytest.raises(GridError, match=r"autoencoder\.configurations\[1\]"):
        grid.expand(
            AE_BASE,
            {"latent": [16, 32]},
            [{"latent": 8, "dropout": 0.0}, {"latent": 32}],
            "autoencoder",
        )


def test_explicit_configuration_equal_to_base_raises():
    with pytest.raises(GridError, match=r"autoencoder\.configurations\[0\]"):
        grid.autoencoder_grid(ae_cfg(configurations=[{"lr": 0.001}]))


def test_explicit_configurations_duplicating_each_other_raise():
    with pytest.raises(GridError, match=r"configurations\[1\]"):
        grid.expand(AE_BASE, {}, [{"latent": 8}, {"latent": 8}], "autoencoder")


def test_explicit_configuration_unknown_key_raises():
    with pytest.raises(GridError, match=r"configurations\[0\].*colour"):
        grid.expand(AE_BASE, {}, [{"colour": "red"}], "autoencoder")


def test_empty_sweep_raises():
    with pytest.raises(GridError, match=r"autoencoder\.sweeps\.lr.*empty"):
        grid.expand(AE_BASE, {"lr": []}, [], "autoencoder")


def test_unknown_sweep_key_raises_naming_it():
    with pytest.raises(GridError, match=r"sweeps\.learning_rate"):
        grid.expand(AE_BASE, {"learning_rate": [0.1]}, [], "autoencoder")


def test_autoencoder_grid_ids_match_params():
    ae = grid.autoencoder_grid(ae_cfg({"latent": [16, 64]}))
    assert len(ae) == 2
    for ae_id, params in ae.items():
        assert ae_id == grid.config_id("conv", params)
        # every key, but those absent at their default (downsampling)
        absent = {k for k, h in HYPERPARAMETERS.items() if h.at_default == ABSENT}
        assert set(params) == set(grid.AUTOENCODER_KEYS) - absent


def test_autoencoder_grid_ignores_extra_base_keys_and_needs_all():
    cfg = ae_cfg()
    cfg["base"]["comment"] = "ignored"
    # keys left out of the base take grid.DEFAULTS (the training options: off)
    assert list(grid.autoencoder_grid(cfg).values()) == [grid.canonical({**AE_BASE, **AE_DEFAULTS})]
    del cfg["base"]["epochs"]
    with pytest.raises(GridError, match="autoencoder.base: missing epochs"):
        grid.autoencoder_grid(cfg)


# --- classifier_grid -----------------------------------------------------------------


def test_classifier_grid_links_pretrained_to_base_autoencoder_with_same_latent():
    ae = grid.autoencoder_grid(ae_cfg({"latent": [16, 32, 64]}))
    ae_by_latent = {p["latent"]: i for i, p in ae.items()}
    clf = grid.classifier_grid(clf_cfg({"latent": [16, 32]}), AE_BASE, ae)
    assert len(clf) == 3 * 3
    seen = set()
    for clf_id, params in clf.items():
        init = params["initialisation"]
        assert clf_id.startswith(f"{init}-")
        assert clf_id == grid.config_id(init, params)
        seen.add((init, params["latent"]))
        if init == "scratch":
            assert params["autoencoder_id"] is None
        else:
            ae_id = params["autoencoder_id"]
            assert ae_id == ae_by_latent[params["latent"]]
            # the base autoencoder but for the latent
            assert {**ae[ae_id], "latent": 64} == grid.canonical({**AE_BASE, **AE_DEFAULTS})
    assert seen == {(i, n) for i in ("scratch", "frozen", "finetune") for n in (16, 32, 64)}


def test_classifier_grid_autoencoder_overrides():
    ae = grid.autoencoder_grid(ae_cfg({"optimizer": ["sgd"]}))
    sgd_id = next(i for i, p in ae.items() if p["optimizer"] == "sgd")
    clf = grid.classifier_grid(
        clf_cfg(initialisations=["frozen"], autoencoder={"optimizer": "sgd"}), AE_BASE, ae
    )
    assert [p["autoencoder_id"] for p in clf.values()] == [sgd_id]


def test_classifier_latent_without_autoencoder_raises():
    ae = grid.autoencoder_grid(ae_cfg())
    with pytest.raises(GridError, match="not in the autoencoder grid"):
        grid.classifier_grid(clf_cfg({"latent": [16]}), AE_BASE, ae)


def test_scratch_only_needs_no_autoencoder():
    clf = grid.classifier_grid(clf_cfg({"latent": [16]}, ["scratch"]), AE_BASE, {})
    assert len(clf) == 2
    assert all(p["autoencoder_id"] is None for p in clf.values())


def test_unknown_initialisation_raises():
    ae = grid.autoencoder_grid(ae_cfg())
    with pytest.raises(GridError, match="pretrained"):
        grid.classifier_grid(clf_cfg(initialisations=["pretrained"]), AE_BASE, ae)


def test_classifier_ids_differ_by_initialisation_and_autoencoder():
    ae = grid.autoencoder_grid(ae_cfg({"optimizer": ["sgd"]}))
    adam = grid.classifier_grid(clf_cfg(initialisations=["frozen"]), AE_BASE, ae)
    sgd = grid.classifier_grid(
        clf_cfg(initialisations=["frozen"], autoencoder={"optimizer": "sgd"}), AE_BASE, ae
    )
    assert set(adam).isdisjoint(sgd)
    scratch = grid.classifier_grid(clf_cfg(initialisations=["scratch"]), AE_BASE, ae)
    assert set(scratch).isdisjoint(adam)


# --- describe ------------------------------------------------------------------------


def test_describe():
    assert grid.describe(grid.canonical(AE_BASE), AE_BASE) == "base"
    assert grid.describe({**AE_BASE, "lr": 0.01}, AE_BASE) == "lr=0.01"
    assert (
        grid.describe({**AE_BASE, "optimizer": "sgd", "latent": 16}, AE_BASE)
        == "latent=16, optimizer=sgd"
    )
    # keys outside the base (initialisation, autoencoder_id) are not described
    assert grid.describe({**CLF_BASE, "initialisation": "frozen"}, CLF_BASE) == "base"


# --- hidden: none and dropout_at ------------------------------------------------------


def test_dropout_at_default_stays_out_of_ids_so_old_ids_hold():
    assert grid.DEFAULTS["dropout_at"] == "hidden"
    before = grid.config_id("scratch", CLF_BASE)
    assert grid.config_id("scratch", {**CLF_BASE, "dropout_at": "hidden"}) == before
    assert grid.config_id("scratch", {**CLF_BASE, "dropout_at": "flatten"}) != before


def test_classifier_grid_fills_dropout_at_and_keeps_the_ids_it_had():
    out = grid.classifier_grid(clf_cfg(initialisations=["scratch"]), AE_BASE, {})
    ((cid, params),) = out.items()
    assert params["dropout_at"] == "hidden"
    without = {k: v for k, v in params.items() if k != "dropout_at"}
    assert cid == grid.config_id("scratch", without)


def test_hidden_none_is_a_width_spelling_of_the_head_only():
    assert grid.widths_text("hidden", "none") == "none"
    assert grid.canonical({"hidden": "none"}) == {"hidden": "none"}
    with pytest.raises(GridError, match="channels: expected layer widths"):
        grid.widths_text("channels", "none")
    with pytest.raises(GridError, match=r"hidden: expected .* \(or none\), got 'None'"):
        grid.widths_text("hidden", "None")


def test_sweep_over_hidden_none_and_dropout_at_gives_distinct_ids():
    cfg = clf_cfg(
        sweeps={"hidden": ["none"], "dropout_at": ["flatten"]}, initialisations=["scratch"]
    )
    out = grid.classifier_grid(cfg, AE_BASE, {})
    assert sorted((p["hidden"], p["dropout_at"]) for p in out.values()) == [
        ("128", "flatten"),
        ("128", "hidden"),
        ("none", "hidden"),
    ]


def test_decoder_batch_norm_default_stays_out_of_ids_and_false_is_conv_bn_only():
    before = grid.config_id("conv_bn", {**AE_BASE, "architecture": "conv_bn"})
    bn = {**AE_BASE, "architecture": "conv_bn", "decoder_batch_norm": True}
    assert grid.config_id("conv_bn", bn) == before
    assert grid.config_id("conv_bn", {**bn, "decoder_batch_norm": False}) != before
    cfg = ae_cfg(configurations=[{"architecture": "conv_bn", "decoder_batch_norm": False}])
    out = grid.autoencoder_grid(cfg)
    assert sorted(p["decoder_batch_norm"] for p in out.values()) == [False, True]
    with pytest.raises(
        GridError,
        match="autoencoder: decoder_batch_norm: False applies to architecture conv_bn only, not 'conv'",
    ):
        grid.autoencoder_grid(ae_cfg(configurations=[{"decoder_batch_norm": False}]))


def test_describe_names_a_key_back_at_its_absent_default():
    base = grid.canonical({**AE_BASE, "bottleneck": False, "latent": 800})
    params = grid.canonical({**AE_BASE, "bottleneck": True, "latent": 64})
    assert "bottleneck" not in params  # absent at its default
    assert grid.describe(params, base) == "latent=64, bottleneck=True"
