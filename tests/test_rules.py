"""What the rule files declare, read without running Snakemake: only the training rules
become cluster jobs, every other rule is local (`localrule: True`)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINING = {
    "train_autoencoder",
    "train_classifier",
    "train_autoencoder_seeds",  # the packs (engine.pack)
    "train_classifier_seeds",
}


def rule_blocks() -> dict[str, str]:
    blocks = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule )", smk.read_text(), flags=re.MULTILINE)[1:]:
            blocks[re.match(r"rule (\w+):", block).group(1)] = block
    return blocks


def test_every_rule_but_training_is_local():
    blocks = rule_blocks()
    assert TRAINING <= set(blocks) and len(blocks) > 10
    remote = {name for name, block in blocks.items() if "\n    localrule: True\n" not in block}
    assert remote == TRAINING, sorted(remote - TRAINING)


def test_training_rules_ask_for_a_gpu_and_threads():
    for name in TRAINING:
        block = rule_blocks()[name]
        assert re.search(r"\n    threads: \d+\n", block), name
        assert re.search(r"\n    resources:\n        gpu=", block), name
