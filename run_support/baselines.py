"""What the trained network is measured against: three baselines on the test images
(losses), among them PCA, the best a linear autoencoder of 75 hidden units can learn (Baldi
and Hornik); the units that never fire (dead_units); a warning for a network no better than
an all-black output (no_better_than_black). NumPy only."""

import numpy as np


def pca_reconstruction(x_train, x_test, width=75):
    """x_test (N, 225) projected on the top `width` principal components of x_train, and back."""
    mean = x_train.mean(axis=0)
    _, vectors = np.linalg.eigh((x_train - mean).T @ (x_train - mean))  # ascending order
    top = vectors[:, ::-1][:, :width]  # (225, width), orthonormal columns: the components
    return mean + (x_test - mean) @ top @ top.T


def losses(x_train, x_test):
    """The sum-squared loss on x_test of an all-black output, of the mean training image and
    of the best linear code of width 75."""
    guesses = {"zeros": 0.0, "mean_image": x_train.mean(axis=0)}
    guesses["pca"] = pca_reconstruction(x_train, x_test)
    return {name: float(np.sum((guess - x_test) ** 2)) for name, guess in guesses.items()}


def dead_units(z_in):
    """The units whose output z_in (N, 75) is 0 for every image."""
    return np.flatnonzero(~(z_in > 0).any(axis=0))


def no_better_than_black(y_test, x_test, test_loss, black, losses, try_lr):
    """A warning if the network does no better than an all-black output (test loss `black`)
    on test images that are not all black, as after too large a learning rate; else None."""
    if not x_test.any() or test_loss < black:
        return None
    what = "outputs 0 for every test pixel: no better" if not y_test.any() else "does no better"
    peak = int(np.argmax(losses))
    peaked = f"the training loss peaked at {losses[peak]:.3g} at update {peak + 1}"
    said = f"{what} than an all-black output: test loss {test_loss:.2f}, all-black {black:.2f}"
    return f"warning: the trained network {said}; {peaked}. Try --lr {try_lr}"
