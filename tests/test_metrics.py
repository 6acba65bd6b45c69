import pytest
import torch
from torch.nn import functional as F

from aeflow.run import metrics, models
from aeflow.run.metrics import as_input

# 4 classes; class 3 is never predicted (precision 0 by convention, as zero_division=0)
LABELS = torch.tensor([0, 0, 0, 1, 1, 2, 3])
PREDICTED = torch.tensor([0, 0, 1, 1, 2, 2, 0])


def logits_for(predicted, classes=4):
    logits = torch.randn(len(predicted), classes, generator=torch.Generator().manual_seed(0))
    logits[torch.arange(len(predicted)), predicted] += 10
    return logits


def test_confusion_matrix():
    matrix = metrics.confusion_matrix(LABELS, PREDICTED, 4)
    assert matrix.tolist() == [
        [2, 1, 0, 0],
        [0, 1, 1, 0],
        [0, 0, 1, 0],
        [1, 0, 0, 0],
    ]
    assert int(matrix.sum()) == len(LABELS)


def test_classification_scores_known_example():
    logits = logits_for(PREDICTED)
    scores = metrics.classification_scores(logits, LABELS)
    assert scores["accuracy"] == pytest.approx(4 / 7)
    assert scores["precision"] == pytest.approx([2 / 3, 1 / 2, 1 / 2, 0])
    assert scores["recall"] == pytest.approx([2 / 3, 1 / 2, 1, 0])
    f1 = [2 / 3, 1 / 2, 2 / 3, 0]
    assert scores["macro_f1"] == pytest.approx(sum(f1) / 4)
    assert scores["confusion"].tolist() == metrics.confusion_matrix(LABELS, PREDICTED, 4).tolist()
    assert scores["confusion"].dtype == torch.long
    assert scores["loss"] == pytest.approx(F.cross_entropy(logits, LABELS).item())


def test_classification_scores_perfect_and_absent_class():
    labels = torch.tensor([0, 1, 1, 2])
    scores = metrics.classification_scores(logits_for(labels, classes=5), labels)
    assert scores["accuracy"] == 1.0
    # classes 3 and 4 neither occur nor are predicted: 0 by convention
    assert scores["precision"] == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert scores["recall"] == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert scores["macro_f1"] == pytest.approx(3 / 5)


def test_classification_scores_accepts_other_dtypes():
    scores = metrics.classification_scores(logits_for(PREDICTED).double(), LABELS.to(torch.uint8))
    assert scores["accuracy"] == pytest.approx(4 / 7)


@pytest.fixture
def autoencoder():
    torch.manual_seed(0)
    return models.Autoencoder(latent=8, dropout=0.5)


def test_reconstruction_mse_equals_mse_loss(autoencoder, tiny_split):
    images = tiny_split["test_images"][:23]
    autoencoder.train()
    mse = metrics.reconstruction_mse(autoencoder, images, batch_size=10)
    assert autoencoder.training  # evaluated in eval mode, its mode restored
    autoencoder.eval()
    with torch.no_grad():
        x = as_input(images)
        expected = F.mse_loss(autoencoder(x), x).item()
    assert mse == pytest.approx(expected, rel=1e-5)
    assert mse == pytest.approx(metrics.reconstruction_mse(autoencoder, images), rel=1e-5)


def test_reconstruct_and_predict(autoencoder, tiny_split):
    images = tiny_split["test_images"][:13]
    out = metrics.reconstruct(autoencoder.train(), images, batch_size=5)
    assert out.shape == (13, 28, 28) and out.min() >= 0 and out.max() <= 1
    assert autoencoder.training
    autoencoder.eval()
    with torch.no_grad():
        assert torch.allclose(out, autoencoder(as_input(images)).squeeze(1), atol=1e-6)
    torch.manual_seed(0)
    clf = models.Classifier(latent=8, hidden=16, dropout=0.5).train()
    logits = metrics.predict(clf, images, batch_size=4)
    assert logits.shape == (13, 10) and clf.training
    clf.eval()
    with torch.no_grad():
        assert torch.allclose(logits, clf(as_input(images)), atol=1e-5)


def test_evaluation_sits_below_the_training_loop():
    """metrics and devices never import training (training imports them)."""
    import subprocess
    import sys

    code = "import sys; from aeflow.run import devices, metrics; print('aeflow.run.training' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_validation_pass_and_test_mse_agree(autoencoder):
    """The validation pass (the device's layout) and the test set's MSE (default layout,
    one division at the end) are one quantity, equal up to float32 rounding."""
    images = torch.randint(0, 256, (30, 28, 28), dtype=torch.uint8)
    labels = torch.zeros(30, dtype=torch.long)
    autoencoder.train()
    split = metrics.evaluate_split(autoencoder, "autoencoder", images, labels, batch_size=7)
    assert autoencoder.training  # mode restored
    assert split["loss"] == pytest.approx(metrics.reconstruction_mse(autoencoder, images), rel=1e-5)
    assert autoencoder.training
