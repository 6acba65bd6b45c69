import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from aeflow.report.document import build_report  # noqa: E402


def _png(path, title):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [3, 1, 2])
    ax.set_title(title)
    fig.savefig(path, dpi=60)
    plt.close(fig)
    return path


@pytest.fixture
def report_inputs(tmp_path):
    setup = {"training images": 50000, "seeds": "0, 1, 2", "device": "cpu", "base lr": 0.001}
    table = pd.DataFrame(
        {
            "initialisation": ["scratch", "frozen <b>"],
            "test_accuracy": [0.91234, 0.875],
            "test_loss": [0.123456789, float("nan")],
            "epochs_run": [10, 10],
        }
    )
    figures = [
        (
            "Loss sweep",
            _png(tmp_path / "a.png", "A"),
            "Autoencoder loss for several learning rates.",
        ),
        ("Confusion matrices", _png(tmp_path / "b.png", "B"), "Row-normalised confusion matrices."),
    ]
    return setup, [("Classifier results", table)], figures


def test_build_report(tmp_path, report_inputs):
    setup, tables, figures = report_inputs
    out = tmp_path / "out" / "report.html"
    build_report(out, "AE study", setup, tables, figures)
    html = out.read_text(encoding="utf-8")

    assert html.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"', html)
    assert len(images) == 2
    for data, alt in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
        assert alt.strip()
    assert html.count("<figure>") == 2 and html.count("<figcaption>") == 2
    assert "Autoencoder loss for several learning rates." in html
    assert "Row-normalised confusion matrices." in html

    # table values, formatted: accuracy as percent, other floats to 4 significant digits
    assert "91.23 %" in html and "87.50 %" in html
    assert "0.1235" in html
    assert "frozen &lt;b&gt;" in html  # escaped
    # setup and contents
    assert "training images" in html and "50000" in html and "0.001" in html
    for anchor in ("#setup", "#classifier-results", "#loss-sweep", "#confusion-matrices"):
        assert f'href="{anchor}"' in html
        assert f'id="{anchor[1:]}"' in html
    # self-contained
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    # atomic write leaves no temporary files
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_build_report_custom_template(tmp_path, report_inputs):
    setup, tables, figures = report_inputs
    template = tmp_path / "t.html.j2"
    template.write_text(
        '<h1>{{ title }}</h1>{% for f in figures %}<img src="{{ f.src }}">{% endfor %}'
    )
    out = tmp_path / "r.html"
    build_report(out, "Custom", setup, tables, figures, template=template)
    html = out.read_text()
    assert html.startswith("<h1>Custom</h1>")
    assert html.count("data:image/png;base64,") == 2


def test_build_report_rejects_non_png(tmp_path, report_inputs):
    setup, tables, _ = report_inputs
    fake = tmp_path / "fake.png"
    fake.write_text("not a png")
    with pytest.raises(ValueError, match="PNG"):
        build_report(tmp_path / "r.html", "T", setup, tables, [("Fake", fake, "")])
    assert not (tmp_path / "r.html").exists()


def test_setup_rows_say_the_data_the_bases_and_the_counts():
    from aeflow.report.document import setup_rows

    data = {"validation_size": 2000, "train_images": 60000, "split_seed": 3, "subset": None}
    rows = setup_rows(
        data,
        [0, 1],
        "cpu",
        {"base": {"latent": 64, "lr": 0.001}, "sweeps": {"lr": [0.01, 0.1]}},
        {"base": {"hidden": "128"}, "initialisations": ["scratch", "frozen"], "sweeps": {}},
        {"autoencoder": 3, "classifier": 6},
    )
    assert rows["Data"] == (
        "Fashion-MNIST, validation 2000 of the 60 000 training images (split seed 3)"
    )
    assert rows["Replicate seeds"] == "0, 1"
    assert rows["Autoencoder base"] == "latent=64, lr=0.001"
    assert rows["Autoencoder sweeps"] == "lr: [0.01, 0.1]"
    assert rows["Classifier sweeps"] == "none"
    assert rows["Classifier initialisations"] == "scratch, frozen"
    assert (rows["Autoencoder configurations"], rows["Classifier configurations"]) == (3, 6)
    subset = {"train": 300, "validation": 100, "test": 100}
    with_subset = setup_rows(
        {**data, "subset": subset},
        [0],
        "cpu",
        {"base": {}, "sweeps": None},
        {"base": {}, "initialisations": ["scratch"]},
        {"autoencoder": 1, "classifier": 1},
    )
    assert with_subset["Data"].endswith(f"; stratified subset {subset}")
