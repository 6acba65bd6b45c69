# Data: fetch the four IDX files (checksummed), then split them into one compact file.


rule download:
    input:
        code=code("download"),
    output:
        "resources/fashion-mnist/{file}",
    log:
        "logs/data/download_{file}.log",
    wildcard_constraints:
        file="|".join(IDX_FILES),
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        sources=DATA["sources"],
        checksum=lambda w: dict(sorted(DATA["files"][w.file].items())),
    script:
        script_path("download")


rule prepare:
    input:
        files=expand("resources/fashion-mnist/{file}", file=IDX_FILES),
        code=code("prepare"),
    output:
        DATASET,
    log:
        "logs/data/prepare.log",
    localrule: True
    conda:
        "../envs/aeflow.yaml"
    params:
        train_images=DATA["train_images"],
        validation_size=DATA["validation_size"],
        split_seed=DATA["split_seed"],
        subset=(dict(sorted(DATA["subset"].items())) if DATA.get("subset") else None),
        classes=DATA["classes"],
    script:
        script_path("prepare")
