"""aeflow: autoencoder-pretraining studies on Fashion-MNIST."""

__version__ = "0.1.0"
