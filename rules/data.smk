# Data: fetch the four IDX files (checksummed), then split them into one compact file.


rule download:
    output:
        "resources/fashion-mnist/{file}",
    params:
        sources=DATA["sources"],
        checksum=lambda w: dict(sorted(DATA["files"][w.file].items())),
    log:
        "logs/data/download_{file}.log",
    wildcard_constraints:
        file="|".join(IDX_FILES),
    script:
        "../scripts/download.py"


rule prepare:
    input:
        files=expand("resources/fashion-mnist/{file}", file=IDX_FILES),
        code=code("data"),
    output:
        DATASET,
    params:
        validation_size=DATA["validation_size"],
        split_seed=DATA["split_seed"],
        subset=(
            dict(sorted(DATA["subset"].items())) if DATA.get("subset") else None
        ),
        classes=DATA["classes"],
    log:
        "logs/data/prepare.log",
    script:
        "../scripts/prepare.py"
