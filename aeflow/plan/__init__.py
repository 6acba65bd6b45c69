"""Parse time: what every `snakemake` start imports (the plan of a run). Standard library only."""
