"""The parse-time plan: from the config to every configuration, study and job the
workflow runs, once per ``snakemake`` start.

:func:`build` expands the main grid and the studies (:mod:`aeflow.plan.grid`,
:mod:`aeflow.plan.studies`), merges their configurations (one id trains once), picks each
configuration's replicate seeds, and decides where training runs and which
configurations train as one pack (:mod:`aeflow.plan.machine`). ``rules/common.smk`` holds
one :class:`Plan` and asks it; what formats paths stays there. Errors are
:class:`aeflow.plan.grid.GridError` naming the config key. Standard library only: the
Snakefile imports it on every start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aeflow.plan import cost, figures, grid, machine, studies
from aeflow.plan.studies import Study

KINDS = ("autoencoder", "classifier")
# A configuration's id (a wildcard): its architecture or initialisation, a hash.
MODEL_ID = r"[a-z_]+-[0-9a-f]{10}"
# A regular expression that matches nothing (a wildcard constraint naming no id).
NO_MATCH = "(?!)"


@dataclass(frozen=True)
class Plan:
    """Everything the rules need to know before the DAG, derived from one config."""

    autoencoders: dict[str, dict]  # {id: params}, the main grid's then the studies'
    classifiers: dict[str, dict]
    ae_base: dict  # the top-level bases, canonical
    clf_base: dict
    studies: dict[str, Study]  # the main grid first (studies.MAIN)
    seeds: list[int]  # the run's seeds (config's ``seeds``)
    run_seeds: dict[str, dict[str, list[int]]]  # {kind: {id: replicate seeds}}
    packed: dict[str, frozenset]  # {kind: ids that train all their seeds in one job}
    gpus: int
    device: str  # where training runs: "cpu" or "cuda"
    training_gpu: int  # the gpu resource a training job asks for (0 or 1)
    pack: bool  # engine.pack as decided for this machine
    engine: dict  # the training scripts' engine switches (pack left out)
    train_size: int
    validation_size: int

    def grid(self, kind: str) -> dict[str, dict]:
        return self.autoencoders if kind == "autoencoder" else self.classifiers

    @property
    def main(self) -> Study:
        return self.studies[studies.MAIN]

    def base_autoencoder(self) -> str:
        """Id of the main grid's base autoencoder (its configuration is the base's)."""
        return self.main.base_autoencoder

    def base_classifiers(self) -> dict[str, str]:
        """{initialisation: id} of the main grid's base classifiers."""
        return self.main.base_classifiers

    def study_labels(self, name: str, kind: str) -> dict[str, str]:
        """{label: model id} of a study's autoencoders or classifiers, in config order;
        classifier labels start with the initialisation when the study has several."""
        return self.studies[name].labels(kind)

    def label_efficiency_study(self, name: str) -> bool:
        """Whether a study sweeps the number of labels (:attr:`Study.label_efficiency`)."""
        return self.studies[name].label_efficiency

    def label_efficiency_studies(self) -> list[str]:
        return [name for name, study in self.studies.items() if study.label_efficiency]

    def study_figure_names(self, name: str) -> list[str]:
        """The file names of one study's figures (:mod:`aeflow.plan.figures` knows which)."""
        study = self.studies[name]
        return figures.study_figure_names(study, study.label_efficiency)

    def study_data(self) -> dict[str, dict]:
        """Every study as plain data, as the report job receives them."""
        return {name: study.as_dict() for name, study in self.studies.items()}

    def per_seed_ids(self, kind: str) -> set[str]:
        """The configurations of ``kind`` that train one job a seed."""
        return set(self.grid(kind)) - self.packed[kind]

    def job_ids(self, kind: str, pack: bool) -> str:
        """The id wildcard's constraint of a training rule of ``kind``: its pack rule's
        (``pack``) or its per-seed rule's configurations, so that each matches only its
        own files; with nothing packed, the per-seed rule takes any id."""
        if not pack and not self.packed[kind]:
            return MODEL_ID
        ids = self.packed[kind] if pack else self.per_seed_ids(kind)
        return "|".join(re.escape(i) for i in sorted(ids)) or NO_MATCH

    def trainings(self) -> int:
        """How many models the run trains (configurations times their seeds)."""
        return sum(len(s) for by_id in self.run_seeds.values() for s in by_id.values())


def build(config: dict, gpus: int) -> Plan:
    """The plan of a validated ``config`` on a machine with ``gpus`` GPUs.

    The main grid is expanded first, alone, so that its errors name the top-level keys;
    then every study around the same bases (the main grid is the first study); a
    configuration in several of them has one id and trains once."""
    data = config["data"]
    train_size, validation_size = cost.split_sizes(data)
    autoencoders = grid.autoencoder_grid(config["autoencoder"], train_size=train_size)
    ae_base = grid.canonical(
        grid.base_params(config["autoencoder"]["base"], grid.AUTOENCODER_KEYS), train_size
    )
    classifiers = grid.classifier_grid(
        config["classifier"], ae_base, autoencoders, train_size=train_size
    )
    found, study_ae, study_clf = studies.expand_studies(
        studies.with_main(config), autoencoders, train_size
    )
    grid.check_images({**classifiers, **study_clf}, cost.split_parts(data))
    autoencoders.update(study_ae)
    classifiers.update(study_clf)
    clf_base = grid.canonical(
        grid.base_params(config["classifier"]["base"], grid.CLASSIFIER_KEYS), train_size
    )

    # {id: replicate seeds} per kind: a study's own seeds (and, by number of labels,
    # seeds_by_labels) where it has them, else the run's (studies.model_seeds)
    seeds = config["seeds"]
    own = dict(zip(KINDS, studies.model_seeds(found, classifiers, seeds, train_size)))
    run_seeds = {
        kind: {i: own[kind].get(i, seeds) for i in grids}
        for kind, grids in zip(KINDS, (autoencoders, classifiers))
    }

    device = machine.training_device(config["device"], gpus)
    training_gpu = machine.training_gpu_resource(config["device"], gpus)
    # engine.pack: all seeds of a configuration in one training job, as one stacked model
    # (aeflow/run/packed.py); "auto" packs where training runs on a GPU. Packed are the
    # configurations whose seeds are the run's (a study's own seeds, e.g.
    # seeds_by_labels, train one job a seed).
    pack = machine.pack_seeds(config["engine"].get("pack", "auto"), training_gpu)
    packed = {
        kind: frozenset(i for i, s in by_id.items() if pack and s == seeds)
        for kind, by_id in run_seeds.items()
    }
    return Plan(
        autoencoders=autoencoders,
        classifiers=classifiers,
        ae_base=ae_base,
        clf_base=clf_base,
        studies=found,
        seeds=seeds,
        run_seeds=run_seeds,
        packed=packed,
        gpus=gpus,
        device=device,
        training_gpu=training_gpu,
        pack=pack,
        # the other switches go to the training scripts (pack is left out, so the
        # jobs' params stay as they were)
        engine={k: v for k, v in sorted(config["engine"].items()) if k != "pack"},
        train_size=train_size,
        validation_size=validation_size,
    )
