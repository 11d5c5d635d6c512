"""PyTorch as its users write it: torch.nn, torch.optim, one process, --threads threads.

The measuring loop is lib/harness.py (the twin of lib/harness.mjs). The
orchestrator runs this once per thread count and reports the faster.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def blas_in_use():
    """Which BLAS the process really loaded: Debian's torch says 'generic' in its config
    and picks OpenBLAS or the reference BLAS at run time through update-alternatives."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    if "openblas" in torch.__config__.show().lower():
        return "openblas"
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        maps = ""
    if "openblas" in maps:
        return "openblas"
    if "mkl" in torch.__config__.show().lower():
        return "mkl"
    return "WARNING: no OpenBLAS loaded; reference BLAS is several times slower (apt-get install libopenblas0-pthread)"


def network(recipe):
    if recipe == "cnn":
        # The small CNN: PyTorch's default initialisation of each layer.
        return nn.Sequential(
            nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 4 * 4, harness.CLASSES),
        )
    act = nn.ReLU if recipe == "modern" else nn.Sigmoid
    layers = [nn.Linear(harness.PIXELS, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, harness.CLASSES)]
    if recipe == "classic":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                std = (2 / m.in_features) ** 0.5 if recipe == "modern" else 1.0
                m.weight.normal_(0, std)
                m.bias.zero_()
    return model


class Step:
    def __init__(self, recipe, seed):
        torch.manual_seed(seed)
        self.recipe = recipe
        self.model = network(recipe)
        self.image = recipe == "cnn"
        self.targets = ("y",) if recipe == "classic" else ("labels",)
        if recipe == "classic":
            self.optimizer = torch.optim.SGD(self.model.parameters(), lr=3.0)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
            self.loss_fn = nn.CrossEntropyLoss()

    def inputs(self, x):
        x = torch.from_numpy(x)
        return x.view(-1, 1, 28, 28) if self.image else x

    def train(self, x, y, labels, want_loss):
        self.model.train()
        self.optimizer.zero_grad()
        out = self.model(self.inputs(x))
        if self.recipe == "classic":
            # mean over the batch of ½‖y − a‖²
            loss = 0.5 * (torch.from_numpy(y) - out).pow(2).sum(dim=1).mean()
        else:
            loss = self.loss_fn(out, torch.from_numpy(labels))
        loss.backward()
        self.optimizer.step()
        return loss.item() if want_loss else None

    def predict(self, x):
        self.model.eval()
        with torch.inference_mode():
            return self.model(self.inputs(x)).argmax(dim=1).numpy()


def run():
    a = harness.parse_args(lambda p: p.add_argument("--threads", type=int, default=1))
    torch.set_num_threads(a.threads)
    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "blas": blas_in_use(),
    }
    harness.run_implementation("pytorch", a, lambda recipe, batch, seed: Step(recipe, seed), info)


if __name__ == "__main__":
    harness.main("pytorch.py", run)
