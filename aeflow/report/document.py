"""A self-contained HTML report: setup table, result tables and embedded PNG figures."""

import base64
import math
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from aeflow.plan import figures as aeflow_figures
from aeflow.plan.logs import duration_text
from aeflow.plan.units import shown_in_percent
from aeflow.report import efficiency, findings, stats
from aeflow.run import files

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TEMPLATE = """{%- macro figure(f) -%}
<figure>
<img src="{{ f.src }}" alt="{{ f.alt }}">
<figcaption>{{ f.caption }}</figcaption>
</figure>
{%- endmacro -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
         color: #222; line-height: 1.45; }
  h1 { border-bottom: 2px solid #ccc; padding-bottom: .3rem; }
  h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
  nav ul { columns: 2; }
  table { border-collapse: collapse; margin: 1rem 0; font-size: .9rem; }
  th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; font-variant-numeric: tabular-nums; }
  th { background: #f2f2f2; }
  tbody tr:nth-child(even) { background: #fafafa; }
  dl.setup { display: grid; grid-template-columns: max-content auto; gap: .2rem 1.5rem; }
  dl.setup dt { font-weight: 600; }
  dl.setup dd { margin: 0; }
  .scroll { overflow-x: auto; }
  figure { margin: 1.5rem 0; }
  figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
  figcaption { font-size: .9rem; color: #444; margin-top: .4rem; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
{%- if opening %}
<section id="{{ opening.id }}" class="opening">
{%- for paragraph in opening.text %}
<p><strong>{{ paragraph }}</strong></p>
{%- endfor %}
{%- for f in opening.figures %}
{{ figure(f) }}
{%- endfor %}
</section>
{%- endif %}
<nav aria-label="Contents">
<h2 id="contents">Contents</h2>
<ul>
  <li><a href="#setup">Setup</a></li>
{%- for t in tables %}
  <li><a href="#{{ t.id }}">{{ t.heading }}</a></li>
{%- endfor %}
{%- for s in studies %}
  <li><a href="#{{ s.id }}">{{ s.heading }}</a></li>
{%- endfor %}
{%- for f in figures %}
  <li><a href="#{{ f.id }}">{{ f.heading }}</a></li>
{%- endfor %}
</ul>
</nav>

<section id="setup">
<h2>Setup</h2>
<dl class="setup">
{%- for label, value in setup %}
  <dt>{{ label }}</dt><dd>{{ value }}</dd>
{%- endfor %}
</dl>
</section>
{% for t in tables %}
<section id="{{ t.id }}">
<h2>{{ t.heading }}</h2>
<div class="scroll">
{{ t.html }}
</div>
</section>
{% endfor %}
{%- for s in studies %}
<section id="{{ s.id }}" class="study">
<h2>{{ s.heading }}</h2>
{%- for paragraph in s.text %}
<p>{{ paragraph }}</p>
{%- endfor %}
{%- for t in s.tables %}
<h3 id="{{ t.id }}">{{ t.heading }}</h3>
<div class="scroll">
{{ t.html }}
</div>
{%- endfor %}
{%- for f in s.figures %}
<h3 id="{{ f.id }}">{{ f.heading }}</h3>
{{ figure(f) }}
{%- endfor %}
</section>
{% endfor %}
{%- for f in figures %}
<section id="{{ f.id }}">
<h2>{{ f.heading }}</h2>
{{ figure(f) }}
</section>
{% endfor %}
</body>
</html>
"""


def listing(params: dict) -> str:
    """Hyperparameters as "key=value, ..." (the report's setup and study sections)."""
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _sweeps_text(sweeps: dict | None) -> str:
    return "; ".join(f"{k}: {v}" for k, v in (sweeps or {}).items()) or "none"


def setup_rows(
    data: dict,
    seeds,
    device: str,
    autoencoder: dict,
    classifier: dict,
    counts: dict,
) -> dict:
    """The report's setup table from the configuration as Snakemake validated it.

    ``autoencoder`` / ``classifier``: {"base": canonical base, "sweeps": config sweeps}
    (the classifier's also "initialisations"); ``counts``: configurations per model kind.
    """
    subset = data.get("subset")
    images = f"{data['train_images']:,}".replace(",", " ")
    return {
        "Data": (
            f"Fashion-MNIST, validation {data['validation_size']} of the {images} training "
            f"images (split seed {data['split_seed']})"
            + (f"; stratified subset {dict(subset)}" if subset else "")
        ),
        "Replicate seeds": ", ".join(map(str, seeds)),
        "Device": device,
        "Autoencoder base": listing(autoencoder["base"]),
        "Autoencoder sweeps": _sweeps_text(autoencoder.get("sweeps")),
        "Autoencoder configurations": counts["autoencoder"],
        "Classifier base": listing(classifier["base"]),
        "Classifier initialisations": ", ".join(classifier["initialisations"]),
        "Classifier sweeps": _sweeps_text(classifier.get("sweeps")),
        "Classifier configurations": counts["classifier"],
    }


def _slug(text, taken):
    """A unique HTML id from a heading."""
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _format_value(value):
    """Setup values: floats compactly, everything else as text."""
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value)


def _float_formatter(column):
    """Fractions (:func:`aeflow.plan.units.shown_in_percent`) as percent with 2 decimals,
    other floats to 4 significant digits."""
    as_percent = shown_in_percent(column)

    def fmt(x):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "–"
        if not math.isfinite(x):
            return str(x)
        return f"{100 * x:.2f} %" if as_percent else f"{x:.4g}"

    return fmt


def table_html(frame):
    """One DataFrame as an HTML table (escaped, no index, floats formatted)."""
    formatters = {
        c: _float_formatter(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c])
    }
    return frame.to_html(
        index=False, border=0, formatters=formatters, na_rep="–", escape=True, classes="data"
    )


def png_data_uri(path):
    """The PNG file at `path` as a base64 data URI."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{path} is not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _table_items(tables, taken):
    return [
        {"id": _slug(heading, taken), "heading": heading, "html": Markup(table_html(frame))}
        for heading, frame in tables
    ]


def _figure_items(figures, taken):
    return [
        {
            "id": _slug(heading, taken),
            "heading": heading,
            "caption": caption,
            "alt": f"{heading}: {caption}" if caption else heading,
            "src": png_data_uri(png),
        }
        for heading, png, caption in figures
    ]


def build_report(path, title, setup, tables, figures, template=None, studies=(), opening=None):
    """Write a self-contained HTML page.

    setup:   mapping (or list of pairs) label -> value
    tables:  list of (heading, DataFrame)
    figures: list of (heading, png_path, caption)
    template: optional path to a jinja2 template receiving the same variables as TEMPLATE
    studies: list of sections after those, each a dict with "heading", "text" (a list
             of paragraphs), "tables" and "figures" (shaped as above)
    opening: optional dict with "text" (paragraphs) and "figures" (shaped as above): the
             answer first, shown under the title before the contents
    """
    taken = {"contents", "setup"}
    setup_rows = [
        (str(k), _format_value(v)) for k, v in (setup.items() if hasattr(setup, "items") else setup)
    ]
    table_items = _table_items(tables, taken)
    figure_items = _figure_items(figures, taken)
    study_items = [
        {
            "id": _slug(study["heading"], taken),
            "heading": study["heading"],
            "text": [str(t) for t in study.get("text", ()) if t],
            "tables": _table_items(study.get("tables", ()), taken),
            "figures": _figure_items(study.get("figures", ()), taken),
        }
        for study in studies
    ]
    opening_item = None
    if opening:
        opening_item = {
            "id": _slug("answer", taken),
            "text": [str(t) for t in opening.get("text", ()) if t],
            "figures": _figure_items(opening.get("figures", ()), taken),
        }
    source = TEMPLATE if template is None else Path(template).read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(source).render(
        title=title,
        setup=setup_rows,
        tables=table_items,
        figures=figure_items,
        studies=study_items,
        opening=opening_item,
    )
    files.write_text(path, html)


# --- the whole report ----------------------------------------------------------------------

TITLE = "aeflow: does autoencoder pretraining help a Fashion-MNIST classifier?"


def assemble(
    path,
    metrics: dict,
    studies: dict,
    *,
    base_classifiers: dict,
    label_efficiency: list,
    all_labels: int,
    figures: list,
    study_figures: dict,
    setup: dict,
    config_files,
    device: str,
    benchmarks: dict,
    folder,
) -> int:
    """Write the report to ``path``: setup, verdicts, each study's section (the main grid
    first), every figure; returns how many figures of the run it shows.

    ``metrics``: the four tables by name (``autoencoder_metrics``, ``classifier_metrics``,
    ``histories``, ``confusion_matrices``); ``studies``: as :mod:`aeflow.plan.studies` describes
    them; ``base_classifiers``: {initialisation: id}; ``label_efficiency``: the studies
    that sweep the number of labels (the first opens the report); ``all_labels``: the
    training-set size; ``figures``: the run's own, ``(path, caption)``;
    ``study_figures``: {study: [(path, caption)]}; ``setup``: the raw facts
    :func:`setup_rows` writes; ``config_files``: (name, sha256) of the configuration
    files; ``device``: the configured one; ``benchmarks``: {stage: [benchmark files]};
    ``folder``: the checkout the code runs from (its commit is shown)."""
    ae, clf = metrics["autoencoder_metrics"], metrics["classifier_metrics"]
    histories, confusion = metrics["histories"], metrics["confusion_matrices"]

    def verdicts(study):
        return findings.claim_verdicts(study, ae, clf, histories=histories, confusion=confusion)

    # label-efficiency studies: the gains over scratch, and the answer the report opens with
    label_rows = {
        name: efficiency.study_rows(clf, studies[name]["classifiers"], all_labels)
        for name in label_efficiency
    }
    gains = {name: efficiency.gains(rows) for name, rows in label_rows.items()}
    answers = {name: efficiency.opening_paragraph(gain) for name, gain in gains.items()}

    def study_section(name, study):
        text = [f"Reproduces {study['source']}." if study["source"] else "", study["note"]]
        text.append(findings.seeds_text(study))
        parts = []
        if study["claims"]:
            claims = verdicts(study)
            parts.append(("Claims and verdicts", claims))
            text.append(stats.chance_text(claims["p"]))
        if study["not_measurable"]:
            parts.append(
                ("The seed's conclusions not measurable here", findings.not_measurable_table(study))
            )
        reported = findings.reported_beside_replicated(study, ae, clf)
        if len(reported):
            parts.append(
                (
                    "What the seed reported beside what aeflow measured",
                    findings.reported_display(reported),
                )
            )
        parts += findings.summary_tables(study, ae, clf)
        differences = findings.differences_from_base(study, ae, clf)
        if len(differences):
            parts.append(("Each configuration against the base, paired by seed", differences))
        shown = [(aeflow_figures.heading(p), p, c) for p, c in study_figures[name]]
        if name in label_efficiency:
            text.insert(0, answers[name])
            parts[0:0] = [
                (
                    "Gain of each pretrained arm over scratch, by number of labels",
                    efficiency.gain_table(gains[name]),
                ),
                (
                    "Did every run train to its plateau? (early stopping on the validation loss)",
                    efficiency.plateau_table(label_rows[name]),
                ),
            ]
        return {"heading": study["title"], "text": text, "tables": parts, "figures": shown}

    # the headline; every study's own tables (the main grid's first) are in its section
    initialisation = stats.initialisation_verdicts(clf, base_classifiers)
    sections = [
        (
            "Verdicts: the seed reports' claims, checked across seeds "
            f"{stats.chance_heading(initialisation['p'])}".rstrip(),
            initialisation,
        ),
    ]
    # every study's claims at a glance, first after the main verdicts
    glance = [
        verdicts(study).assign(study=study["title"])
        for study in studies.values()
        if study["claims"]
    ]
    if glance:
        at_a_glance = pd.concat(glance, ignore_index=True)
        heading = f"Claims of every study at a glance {stats.chance_heading(at_a_glance['p'])}"
        columns = ["study", "claim", "verdict", stats.HOLM_VERDICT]
        sections.insert(1, (heading.rstrip(), at_a_glance[columns]))

    shown = [(aeflow_figures.heading(p), p, c) for p, c in figures]
    rows = {
        **setup_rows(**setup),
        **provenance_rows(folder, config_files, device),
        "Wall time per stage": stage_times(benchmarks),
    }
    opening = None
    if label_efficiency:
        first = label_efficiency[0]
        opening = {
            "text": [answers[first]],
            "figures": [
                ("Where pretraining pays", p, c)
                for p, c in study_figures[first]
                if aeflow_figures.kind(p)[0].caption == "label_efficiency"
            ],
        }
    build_report(
        path,
        TITLE,
        rows,
        sections,
        shown,
        studies=[study_section(name, study) for name, study in studies.items()],
        opening=opening,
    )
    return len(shown)


# The report's provenance rows that need PyTorch or pandas (the rest is
# aeflow.plan.provenance, read at parse time).


def device_name(device: str) -> str:
    """The GPU's name for a CUDA device, else the CPU's model (``/proc/cpuinfo`` on Linux,
    ``platform.processor()`` elsewhere)."""
    import torch

    if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()):
        if torch.cuda.is_available():
            index = torch.device(device if device != "auto" else "cuda").index or 0
            return f"{torch.cuda.get_device_name(index)} ({device})"
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"CPU: {cpu} ({device})"


def provenance_rows(
    folder: str | Path, config_digests, device: str, now: datetime | None = None
) -> dict:
    """The report's provenance rows, label → text; ``config_digests`` as made by
    :func:`config_digests`."""
    import torch

    from aeflow.plan.provenance import git_commit, package_version

    now = now or datetime.now(UTC)
    configs = "; ".join(f"{name} (sha256 {sha[:16]})" for name, sha in config_digests) or "none"
    return {
        "Code commit": git_commit(folder),
        "Configuration files": configs,
        "Python": sys.version.split()[0],
        "PyTorch": torch.__version__,  # with its build (+cu130), which metadata drops
        "Snakemake": package_version("snakemake"),
        "Device of the report job": device_name(device),
        "Date (UTC)": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }


def stage_times(benchmarks: dict) -> str:
    """``{stage: [benchmark files]}`` → "autoencoder training 1 h 02 min over 60 jobs;
    …": the wall-clock seconds (column ``s``) Snakemake's ``benchmark:`` recorded for
    each job, summed per stage. A job resumed after an interruption counts its last
    run only."""
    parts = []
    for stage, paths in benchmarks.items():
        paths = list(paths)
        seconds = sum(float(pd.read_csv(p, sep="\t")["s"].sum()) for p in paths)
        jobs = f"{len(paths)} job{'s' * (len(paths) != 1)}"
        parts.append(f"{stage} {duration_text(seconds)} over {jobs}")
    return "; ".join(parts) + " (each job's wall clock, summed; Snakemake benchmarks)"
