"""Named studies at parse time: each seed report's experiments as grids around the
shared bases, and the claims it made resolved to configuration ids.

A study (``config['studies'][name]``) has optional ``autoencoder`` and ``classifier``
blocks shaped like the top-level ones, whose ``base`` entries are *overrides* of the
top-level bases, and ``claims`` of four kinds: a *comparison* ("configuration a beats
configuration b on a measure"), an *equivalence* ("no notable difference between a and
b: |a − b| within a margin"), a *value* claim ("one configuration's measure is below, or
above, a stated bound") and a *confusion* claim ("the largest confusions of a classifier,
or of one true class, are among these classes"). A measure is a column of the metrics
tables, a generalisation gap, the epochs a run took to reach a value (a number, or arm
a's or b's own final value), the best value over the epochs, the epoch that reached it,
or how far the last epoch fell back from it (:data:`HISTORY_QUANTITIES`).
:func:`expand_studies` turns them into configurations (ids as in :mod:`aeflow.plan.grid`, so
a configuration shared by two studies trains once) and plain-data study descriptions,
checking the config as it goes. The Snakefile imports this module on every parse, so
it imports neither pandas nor torch; what the report computes from those descriptions
and the tables (verdicts, summaries, differences) is :mod:`aeflow.report.findings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from aeflow.plan import grid
from aeflow.plan.grid import GridError

CLAIM_KINDS = ("comparison", "equivalence", "value", "confusion")
# The columns of the metrics tables a claim may compare, by model kind.
COLUMNS = {
    "autoencoder": ("test_mse", "final_train_loss", "final_validation_loss", "train_seconds"),
    "classifier": ("test_accuracy", "test_macro_f1", "test_loss", "final_train_loss",
                   "final_train_accuracy", "final_validation_loss",
                   "final_validation_accuracy", "train_seconds"),
}  # fmt: skip
# Generalisation gaps, oriented so that a larger gap is more overfitting.
GAPS = {
    "gap_accuracy": ("final_train_accuracy", "final_validation_accuracy"),  # train − validation
    "gap_loss": ("final_validation_loss", "final_train_loss"),  # validation − train
}
# What a history-derived measure reads: split_metric of the histories table.
HISTORY_QUANTITIES = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy")
# The keys each claim kind needs besides claim, quote, source, model and kind, and those
# it may have (a value claim has one bound or both; a confusion claim may name its row).
KIND_KEYS = {
    "comparison": {"a", "b", "metric", "better"},
    "equivalence": {"a", "b", "metric", "margin"},
    "value": {"configuration", "metric"},
    "confusion": {"configuration", "classes", "top"},
}
OPTIONAL_KEYS = {"value": {"below", "above"}, "confusion": {"row"}}
# An epochs_to target that is an arm's own final value (its history's last epoch).
ARMS = ("a", "b")


# The main grid (the config's top-level autoencoder and classifier blocks) is the default
# study: its figures, tables and report section come from the same rules and code.
MAIN = "main"
MAIN_TITLE = "Main grid: the base classifier from scratch, frozen and fine-tuned, and the sweeps"
MAIN_NOTE = (
    "The configuration's top-level autoencoder and classifier blocks: the bases every "
    "study starts from, the initialisations and the sweeps around the bases."
)


def initialised_label(initialisation: str, label: str) -> str:
    """The one "initialisation: label" text of a classifier where a figure, table or claim
    shows several initialisations: ``frozen`` for the base, ``frozen: lr=0.01`` else."""
    return initialisation if label == grid.BASE_LABEL else f"{initialisation}: {label}"


@dataclass(frozen=True, eq=False)
class Study(Mapping):
    """One study as the plan knows it: ids, labels, bases and resolved claims.

    Read its fields as attributes at parse time; it is also a read-only mapping of the
    same names (``study["classifiers"]``), and :meth:`as_dict` is the plain data the
    report jobs receive as a Snakemake param (plain, so the params compare by value)."""

    name: str
    title: str
    source: str
    note: str
    autoencoder_base: dict | None  # the study's canonical bases (None: no such block)
    classifier_base: dict | None
    autoencoders: dict  # {id: label}, in config order
    classifiers: dict  # {id: label}, in config order
    initialisations: dict  # {classifier id: initialisation}
    autoencoder_sweeps: list
    classifier_sweeps: list
    autoencoder_configurations: bool
    classifier_configurations: bool
    base_autoencoder: str | None
    base_classifiers: dict  # {initialisation: id}
    seeds: list | None
    seeds_by_labels: list  # (labels_up_to, seeds) pairs, smallest bound first
    claims: list
    reported: list
    not_measurable: list
    confusion_classifiers: dict  # {figure label: classifier id}
    curve_classifiers: dict  # {figure label: classifier id}

    def __getitem__(self, key):
        if key not in _STUDY_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(_STUDY_FIELDS)

    def __len__(self):
        return len(_STUDY_FIELDS)

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in _STUDY_FIELDS}

    @property
    def several_initialisations(self) -> bool:
        return len(self.base_classifiers) > 1

    @property
    def label_efficiency(self) -> bool:
        """Whether the study sweeps the number of labels: its label-efficiency figure and
        gains over scratch (the first such study also opens the report)."""
        return "labels" in self.classifier_sweeps

    def classifier_label(self, model_id: str) -> str:
        """A classifier's label, starting with its initialisation when the study has several."""
        label = self.classifiers[model_id]
        if self.several_initialisations:
            return initialised_label(self.initialisations[model_id], label)
        return label

    def labels(self, kind: str) -> dict[str, str]:
        """{label: model id} of the study's autoencoders or classifiers, in config order."""
        if kind == "autoencoder":
            return {label: i for i, label in self.autoencoders.items()}
        return {self.classifier_label(i): i for i in self.classifiers}


_STUDY_FIELDS = tuple(f.name for f in fields(Study))


def with_main(config: dict) -> dict:
    """``config`` with the main grid as the first study, :data:`MAIN` (its bases are the
    top-level bases, its sweeps, configurations and initialisations the top-level ones);
    a GridError when the config names a study of its own ``main``."""
    named = config.get("studies") or {}
    if MAIN in named:
        raise GridError(f"studies.{MAIN}: the name is the main grid's; name the study otherwise")
    main = {
        "title": MAIN_TITLE,
        "note": MAIN_NOTE,
        "autoencoder": {**config["autoencoder"], "base": {}},
        "classifier": {**config["classifier"], "base": {}},
    }
    return {**config, "studies": {MAIN: main, **named}}


def _seeds_by_labels(block: dict, where: str) -> list[tuple[int, list[int]]]:
    """A study's ``seeds_by_labels`` as (labels_up_to, seeds) pairs, smallest bound first."""
    entries = block.get("seeds_by_labels") or []
    if entries and block.get("classifier") is None:
        raise GridError(f"{where}.seeds_by_labels: the study trains no classifiers")
    bounds = [int(e["labels_up_to"]) for e in entries]
    if len(set(bounds)) != len(bounds):
        raise GridError(f"{where}.seeds_by_labels: labels_up_to {bounds} repeats a bound")
    return sorted((int(e["labels_up_to"]), list(e["seeds"])) for e in entries)


def model_seeds(
    studies: dict[str, dict], classifiers: dict[str, dict], seeds, train_size: int | None = None
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """The replicate seeds each configuration trains with: ``({autoencoder id: seeds},
    {classifier id: seeds})``.

    A configuration trains once per seed of every study it is in: the study's own
    ``seeds``, or the top-level ``seeds``; a classifier on at most ``labels_up_to``
    labelled images (all ``train_size`` when it leaves ``labels`` out) takes the seeds of
    the first ``seeds_by_labels`` entry that covers it instead. An autoencoder also
    trains with every seed of the classifiers that start from it (a pretrained
    classifier of seed s starts from the encoder of seed s). A configuration in no
    study gets the top-level seeds. Adding a seed adds only that seed's runs."""
    ae, clf = {}, {}
    for study in studies.values():
        own = study.get("seeds") or seeds
        for model_id in study["autoencoders"]:
            ae.setdefault(model_id, set()).update(own)
        for model_id in study["classifiers"]:
            labels = classifiers[model_id].get("labels") or train_size
            chosen = own
            for bound, by_size in study.get("seeds_by_labels") or []:
                if labels is not None and int(labels) <= bound:
                    chosen = by_size
                    break
            clf.setdefault(model_id, set()).update(chosen)
    for model_id, params in classifiers.items():
        mine = clf.setdefault(model_id, set(seeds))
        if params.get("autoencoder_id") is not None:
            ae.setdefault(params["autoencoder_id"], set()).update(mine)
    return ({i: sorted(v) for i, v in ae.items()}, {i: sorted(v) for i, v in clf.items()})


def _merged(block: dict | None, key: str, top: dict) -> dict:
    return {**top, **((block or {}).get(key) or {})}


def expand_studies(
    config: dict, autoencoders: dict[str, dict], train_size: int | None = None
) -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
    """``config['studies']`` → ``(studies, autoencoders, classifiers)``.

    ``autoencoders``: the configurations already in the workflow (the main grid); a
    study's pretrained classifiers may use those or any study's. Returns the studies as
    plain data (ids, labels, bases, resolved claims) and the configurations the studies
    add, by id. A study's pretrained classifiers start from the study's own autoencoders
    when it has an autoencoder block, else from any in the workflow. Errors are :class:`GridError` naming ``studies.<name>.…``.
    """
    classes = (config.get("data") or {}).get("classes")
    ae_top = grid.base_params(config["autoencoder"]["base"], grid.AUTOENCODER_KEYS)
    clf_top = grid.base_params(config["classifier"]["base"], grid.CLASSIFIER_KEYS)
    studies, new_ae, new_clf = {}, {}, {}
    ae_grids, ae_bases = {}, {}
    for name, block in (config.get("studies") or {}).items():
        ae_base = _merged(block.get("autoencoder"), "base", ae_top)
        ae_bases[name] = ae_base
        if block.get("autoencoder") is not None:
            cfg = {**block["autoencoder"], "base": ae_base}
            ae_grids[name] = grid.autoencoder_grid(cfg, f"studies.{name}.autoencoder", train_size)
            new_ae.update(ae_grids[name])
    everything = {**autoencoders, **new_ae}
    for name, block in (config.get("studies") or {}).items():
        where = f"studies.{name}"
        ae_base = grid.canonical(ae_bases[name], train_size)
        ae_grid = ae_grids.get(name, {})
        clf_grid, clf_base, inits = {}, None, []
        if block.get("classifier") is not None:
            clf_block = block["classifier"]
            clf_base = _merged(clf_block, "base", clf_top)
            cfg = {
                **clf_block,
                "base": clf_base,
                "initialisations": clf_block.get("initialisations") or ["scratch"],
            }
            clf_grid = grid.classifier_grid(
                cfg, ae_base, ae_grid or everything, f"{where}.classifier", train_size
            )
            inits = list(dict.fromkeys(p["initialisation"] for p in clf_grid.values()))
            if clf_block.get("linear_probe"):
                clf_grid.update(_linear_probes(cfg, ae_base, ae_grid or everything, where,
                                               train_size))  # fmt: skip
            clf_base = grid.canonical(clf_base, train_size)
            new_clf.update(clf_grid)
        if not ae_grid and not clf_grid:
            raise GridError(f"{where}: neither an autoencoder nor a classifier block")
        ctx = _Context(ae_grid, clf_grid, ae_base, clf_base, inits, train_size, classes)
        classifiers = {i: grid.describe(p, clf_base) for i, p in clf_grid.items()}
        initialisations = {i: p["initialisation"] for i, p in clf_grid.items()}
        base_classifiers = {init: _find(clf_grid, clf_base, init) for init in inits}
        seeds_by_labels = _seeds_by_labels(block, where)
        claims = [ctx.claim(claim, f"{where}.claims[{k}]")
                  for k, claim in enumerate(block.get("claims") or [])]  # fmt: skip
        reported = [ctx.reported(entry, f"{where}.reported[{k}]")
                    for k, entry in enumerate(block.get("reported") or [])]  # fmt: skip
        study = Study(
            name=name,
            title=block.get("title") or f"Study {name}",
            source=block.get("source", ""),
            note=block.get("note", ""),
            autoencoder_base=ae_base if ae_grid else None,
            classifier_base=clf_base,
            autoencoders={i: grid.describe(p, ae_base) for i, p in ae_grid.items()},
            classifiers=classifiers,
            initialisations=initialisations,
            autoencoder_sweeps=list((block.get("autoencoder") or {}).get("sweeps") or {}),
            classifier_sweeps=list((block.get("classifier") or {}).get("sweeps") or {}),
            autoencoder_configurations=bool((block.get("autoencoder") or {}).get("configurations")),
            classifier_configurations=bool((block.get("classifier") or {}).get("configurations")),
            base_autoencoder=_find(ae_grid, ae_base, None) if ae_grid else None,
            base_classifiers=base_classifiers,
            seeds=block.get("seeds"),
            seeds_by_labels=seeds_by_labels,
            claims=claims,
            reported=reported,
            not_measurable=[
                {"quote": e["quote"], "source": e.get("source", ""), "reason": e["reason"]}
                for e in block.get("not_measurable") or []
            ],
            confusion_classifiers=_confusion_classifiers(
                base_classifiers, claims, reported, clf_grid, clf_base
            ),
            curve_classifiers=_curve_classifiers(
                base_classifiers, classifiers, initialisations, clf_base,
                block.get("classifier"), clf_grid, train_size,
            ),
        )  # fmt: skip
        studies[name] = study
    return studies, new_ae, new_clf


def _linear_probes(cfg, ae_base, autoencoders, where, train_size) -> dict[str, dict]:
    """``classifier.linear_probe: true``: the study's classifier grid once more as linear
    probes, i.e. the frozen pretrained encoder with the head Linear(n, 10) (``hidden:
    none``); only this arm, not scratch or finetune, loses the hidden layer."""
    if "hidden" in (cfg.get("sweeps") or {}) or any(
        "hidden" in c for c in cfg.get("configurations") or []
    ):
        raise GridError(
            f"{where}.classifier.linear_probe: the linear probe has no hidden layer, so it "
            "cannot go with a study that sets hidden in its sweeps or configurations"
        )
    probe = {
        **cfg,
        "base": {**cfg["base"], "hidden": grid.NO_HIDDEN},
        "initialisations": ["frozen"],
    }
    return grid.classifier_grid(
        probe, ae_base, autoencoders, f"{where}.classifier.linear_probe", train_size
    )


def _find(configurations: dict, params: dict, initialisation) -> str | None:
    """Id of the configuration with ``params`` (and ``initialisation``), or None."""
    for model_id, p in configurations.items():
        if initialisation is not None and p.get("initialisation") != initialisation:
            continue
        if all(p.get(k) == v for k, v in params.items()):
            return model_id
    return None


def _confusion_classifiers(base_classifiers, claims, reported, clf_grid, clf_base) -> dict:
    """{figure label: classifier id}: the study's base classifiers (by initialisation),
    then every classifier a claim or a reported number names, once each, in config
    order; the study's confusion-matrix figure shows them all."""
    several = len(base_classifiers) > 1
    out = {init: i for init, i in base_classifiers.items() if i is not None}
    named = [c[arm] for c in claims if c["model"] == "classifier"
             for arm in ("a", "b") if arm in c]  # fmt: skip
    named += [c["configuration"] for c in claims if c["kind"] == "confusion"]
    named += [r["id"] for r in reported if r["model"] == "classifier"]
    for model_id in named:
        if model_id in out.values():
            continue
        params = clf_grid[model_id]
        label = grid.describe(params, clf_base)
        if several:
            label = initialised_label(params["initialisation"], label)
        out[label] = model_id
    return out


def _curve_classifiers(
    base_classifiers, classifiers, initialisations, clf_base, block, clf_grid, train_size
) -> dict:
    """{figure label: classifier id} of a study's learning-curve figure: its base
    classifier of each initialisation and its explicit configurations (its sweeps have
    figures of their own); labels start with the initialisation when it has several."""
    if not clf_grid:
        return {}
    several = len(base_classifiers) > 1
    ids = [i for i in base_classifiers.values() if i is not None]
    for overrides in (block or {}).get("configurations") or []:
        params = grid.canonical({**clf_base, **overrides}, train_size)
        ids += [_find(clf_grid, params, init) for init in base_classifiers]
    out = {}
    for model_id in dict.fromkeys(i for i in ids if i is not None):
        label = classifiers[model_id]
        if several:
            label = initialised_label(initialisations[model_id], label)
        out[label] = model_id
    return out


@dataclass(frozen=True)
class _Context:
    """What resolving a study's claims and reported numbers needs: the study's grids and
    bases, its initialisations (the first is a selector's default), the training-set size
    (``batch_size: full``) and the data's class names (confusion claims)."""

    ae_grid: dict
    clf_grid: dict
    ae_base: dict
    clf_base: dict | None
    inits: list
    train_size: int | None
    classes: list | None = None

    def configurations(self, kind: str) -> dict:
        return self.ae_grid if kind == "autoencoder" else self.clf_grid

    def base(self, kind: str) -> dict | None:
        return self.ae_base if kind == "autoencoder" else self.clf_base

    def arm(self, kind, selector, where) -> str:
        """The id of the study's configuration that ``selector`` (overrides of the study's
        base, classifiers may add ``initialisation``) names; a GridError naming ``where``."""
        configurations = self.configurations(kind)
        if not configurations:
            raise GridError(f"{where}: the study trains no {kind}s")
        keys = grid.AUTOENCODER_KEYS if kind == "autoencoder" else grid.CLASSIFIER_KEYS
        overrides = dict(selector)
        init = overrides.pop("initialisation", self.inits[0] if kind == "classifier" else None)
        unknown = set(overrides) - set(keys)
        if unknown:
            raise GridError(f"{where}: unknown hyperparameter(s) {', '.join(sorted(unknown))}")
        wanted = grid.canonical({**self.base(kind), **overrides}, self.train_size)
        found = _find(configurations, wanted, init)
        if found is None:
            raise GridError(
                f"{where}: {selector} is not a configuration of the study; add it "
                "to the study's sweeps or configurations"
            )
        return found

    def arm_label(self, kind, selector, model_id) -> str:
        """An arm's label: how it differs from the study's base, after its initialisation
        when the selector names one."""
        params = self.configurations(kind)[model_id]
        label = grid.describe(params, self.base(kind))
        if kind == "classifier" and "initialisation" in selector:
            return initialised_label(params["initialisation"], label)
        return label

    def reported(self, entry, where) -> dict:
        """A seed's reported number, tied to the study's configuration it belongs to."""
        kind = entry["model"]
        model_id = self.arm(kind, entry["configuration"], f"{where}.configuration")
        return {
            "model": kind,
            "id": model_id,
            "label": self.arm_label(kind, entry["configuration"], model_id),
            "metric": entry["metric"],
            "value": float(entry["value"]),
            "source": entry["source"],
        }

    def claim(self, claim, where) -> dict:
        """A claim as plain data: its kind, its arms as configuration ids with labels, and
        its measure (:func:`_measure`); a GridError naming ``where`` for keys that do not
        fit the kind, unknown configurations, measures or classes."""
        kind = claim.get("kind", "comparison")
        if kind not in CLAIM_KINDS:
            raise GridError(f"{where}.kind: {kind!r} unknown; allowed: {', '.join(CLAIM_KINDS)}")
        model = claim["model"]
        needed = KIND_KEYS[kind]
        missing = sorted(needed - set(claim))
        if missing:
            raise GridError(f"{where}: a {kind} claim needs {', '.join(missing)}")
        allowed = needed | OPTIONAL_KEYS.get(kind, set())
        other = set().union(*KIND_KEYS.values(), *OPTIONAL_KEYS.values()) - allowed
        stray = sorted(other & set(claim))
        if stray:
            raise GridError(f"{where}: {', '.join(stray)} do(es) not belong to a {kind} claim")
        out = {
            "kind": kind,
            "claim": claim["claim"],
            "quote": claim.get("quote", ""),
            "source": claim.get("source", ""),
            "model": model,
        }

        def arm(key):
            return self.arm(model, claim[key], f"{where}.{key}")

        if kind == "confusion":
            if model != "classifier":
                raise GridError(f"{where}.model: a confusion claim is about a classifier")
            out["configuration"] = arm("configuration")
            out["label"] = self.arm_label(model, claim["configuration"], out["configuration"])
            out["classes"] = _confusion_classes(claim, where, self.classes)
            return out
        if kind == "value":
            out["configuration"] = arm("configuration")
            out["label"] = self.arm_label(model, claim["configuration"], out["configuration"])
            out["measure"] = _measure(claim["metric"], model, f"{where}.metric")
            if "reference" in out["measure"]:
                raise GridError(f"{where}.metric: a value claim has no arm a or b to take a "
                                "final value from; give a number")  # fmt: skip
            out["metric"] = out["measure"]["label"]
            out["bounds"] = _bounds(claim, where)
            return out
        ids = {key: arm(key) for key in ARMS}
        if ids["a"] == ids["b"]:
            raise GridError(f"{where}: arms a and b are the same configuration")
        out.update(ids)
        for key in ARMS:
            out[f"{key}_label"] = self.arm_label(model, claim[key], ids[key])
        out["measure"] = _measure(claim["metric"], model, f"{where}.metric")
        reference = out["measure"].get("reference")
        if reference is not None:  # epochs to an arm's own final value
            out["measure"]["reference_id"] = ids[reference]
            out["measure"]["label"] += f" ({out[f'{reference}_label']})"
        out["metric"] = out["measure"]["label"]
        if kind == "comparison":
            out["better"] = claim["better"]
        else:
            margin = float(claim["margin"])
            if not margin > 0:
                raise GridError(f"{where}.margin: must be above 0, got {claim['margin']!r}")
            out["margin"] = margin
        return out


def _bounds(claim, where) -> dict:
    """A value claim's ``below`` and/or ``above`` as {"below": x, "above": y} (numbers;
    at least one; ``above`` less than ``below``)."""
    bounds = {}
    for key in ("below", "above"):
        if key in claim:
            value = claim[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise GridError(f"{where}.{key}: a number, got {value!r}")
            bounds[key] = float(value)
    if not bounds:
        raise GridError(f"{where}: a value claim needs below, above or both")
    if len(bounds) == 2 and not bounds["above"] < bounds["below"]:
        raise GridError(
            f"{where}: above ({bounds['above']:g}) must be less than below ({bounds['below']:g})"
        )
    return bounds


def _confusion_classes(claim, where, classes):
    """A confusion claim's classes: ``{"names", "top"}``, and ``row`` when the claim is
    about one true class's confusions (its ``top`` largest off-diagonal cells, the named
    classes being the predicted ones)."""
    names = list(claim["classes"])
    top = int(claim["top"])
    row = claim.get("row")
    fewest = 1 if row is not None else 2
    if len(set(names)) < fewest or len(set(names)) != len(names):
        raise GridError(
            f"{where}.classes: at least {'one class name' if row else 'two different class names'}"
            f"{', all different' if row else ''}"
        )
    if row is not None and row in names:
        raise GridError(
            f"{where}.classes: {row!r} is the row; name the classes it is confused with"
        )
    if classes is not None:
        unknown = [c for c in [*names, *([row] if row is not None else [])] if c not in classes]
        if unknown:
            raise GridError(
                f"{where}.classes: {', '.join(map(repr, unknown))} not a class of the data "
                f"(data.classes: {', '.join(classes)})"
            )
    if row is not None:
        if not 1 <= top <= len(names):
            raise GridError(f"{where}.top: between 1 and {len(names)} (the classes named)")
        return {"names": names, "top": top, "row": row}
    pairs = len(names) * (len(names) - 1)
    if not 1 <= top <= pairs:
        raise GridError(
            f"{where}.top: between 1 and {pairs} (the ordered pairs of {len(names)} classes)"
        )
    return {"names": names, "top": top}


def _measure(metric, model: str, where: str) -> dict:
    """A claim's ``metric`` as plain data: ``{"type": "column" | "gap" | "epochs_to" |
    "best" | "epoch_of_best" | "worsening", ..., "label": text, "unit": "fraction" |
    "epochs" | "seconds" | "value"}``. An ``epochs_to`` whose target is ``a`` or ``b``
    has ``"value": None`` and ``"reference"``: that arm's own final value, per seed."""
    accuracy_ok = model == "classifier"

    def check_quantity(quantity):
        if quantity not in HISTORY_QUANTITIES:
            raise GridError(
                f"{where}: {quantity!r} unknown; allowed: {', '.join(HISTORY_QUANTITIES)}"
            )
        if quantity.endswith("accuracy") and not accuracy_ok:
            raise GridError(f"{where}: autoencoders have no {quantity}")
        return quantity.split("_", 1)

    if isinstance(metric, str):
        if metric in GAPS:
            if metric == "gap_accuracy" and not accuracy_ok:
                raise GridError(f"{where}: autoencoders have no accuracy (use gap_loss)")
            first, second = GAPS[metric]
            unit = "fraction" if metric == "gap_accuracy" else "value"
            return {"type": "gap", "columns": [first, second], "unit": unit,
                    "label": f"{metric} ({first} − {second})"}  # fmt: skip
        if metric not in COLUMNS[model]:
            raise GridError(
                f"{where}: {metric!r} is not a measure of {model}s; allowed: "
                f"{', '.join([*COLUMNS[model], *GAPS])}, {{epochs_to: …}}, {{best: …}}, "
                "{epoch_of_best: …}, {worsening: …}"
            )
        return {"type": "column", "column": metric, "unit": column_unit(metric), "label": metric}
    if isinstance(metric, dict) and set(metric) == {"epochs_to"}:
        target = metric["epochs_to"]
        if not isinstance(target, dict) or len(target) != 1:
            raise GridError(f"{where}.epochs_to: one quantity and its value, e.g. "
                            "{validation_accuracy: 0.85}")  # fmt: skip
        ((quantity, value),) = target.items()
        split, name = check_quantity(quantity)
        sign = "≤" if name == "loss" else "≥"
        out = {"type": "epochs_to", "split": split, "metric": name, "unit": "epochs"}
        if value in ARMS:
            return {**out, "value": None, "reference": value,
                    "label": f"epochs to {split} {name} {sign} the final value of {value}"}  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GridError(f"{where}.epochs_to.{quantity}: a number, a or b, got {value!r}")
        return {**out, "value": float(value), "label": f"epochs to {split} {name} {sign} {value:g}"}
    if isinstance(metric, dict) and set(metric) == {"best"}:
        split, name = check_quantity(metric["best"])
        word = "lowest" if name == "loss" else "highest"
        unit = "fraction" if name == "accuracy" else "value"
        return {"type": "best", "split": split, "metric": name, "unit": unit,
                "label": f"{word} {split} {name} over the epochs"}  # fmt: skip
    if isinstance(metric, dict) and set(metric) == {"epoch_of_best"}:
        split, name = check_quantity(metric["epoch_of_best"])
        word = "lowest" if name == "loss" else "highest"
        return {"type": "epoch_of_best", "split": split, "metric": name, "unit": "epochs",
                "label": f"epoch of the {word} {split} {name}"}  # fmt: skip
    if isinstance(metric, dict) and set(metric) == {"worsening"}:
        split, name = check_quantity(metric["worsening"])
        gap = "last epoch − lowest" if name == "loss" else "highest − last epoch"
        unit = "fraction" if name == "accuracy" else "value"
        return {"type": "worsening", "split": split, "metric": name, "unit": unit,
                "label": f"worsening of the {split} {name} ({gap})"}  # fmt: skip
    raise GridError(f"{where}: {metric!r} is not a measure")


def column_unit(column: str) -> str:
    """The unit a metrics-table column's differences are shown in."""
    if column == "train_seconds":
        return "seconds"
    return "fraction" if "accuracy" in column or "f1" in column else "value"
