"""PyTorch as its users write it: torch.nn, torch.optim, one process, 2 threads.

Mirrors lib/harness.mjs: the same IDX files, the same shared permutation
file, the same warm-up, the same timing and the same JSON line.
"""

import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

PIXELS = 784
CLASSES = 10
QUICK_SAMPLES = 5000
INFERENCE_PASSES_PER_EPOCH = 5
INFERENCE_FIT_SAMPLES = 60000
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: byte 0: not an IDX file")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: byte 2: element type {raw[2]:#x}, expected 0x08 (ubyte)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise ValueError(f"{path}: byte {header}: dims {list(dims)} need {count} bytes, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_data(folder):
    def load(key):
        for name in (FILES[key] + ".gz", FILES[key]):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return read_idx(path)
        raise FileNotFoundError(f"{folder}: missing {FILES[key]}(.gz)")

    train_x = torch.from_numpy(load("train_images").reshape(-1, PIXELS).astype(np.float32) / 255)
    train_labels = torch.from_numpy(load("train_labels").astype(np.int64))
    test_x = torch.from_numpy(load("test_images").reshape(-1, PIXELS).astype(np.float32) / 255)
    test_labels = torch.from_numpy(load("test_labels").astype(np.int64))
    train_y = nn.functional.one_hot(train_labels, CLASSES).float()
    return train_x, train_y, train_labels, test_x, test_labels


def load_permutations(path, n):
    perms = np.fromfile(path, dtype="<i4")
    if perms.size == 0 or perms.size % n:
        raise ValueError(f"{path}: {perms.size} int32 values is not a whole number of permutations of {n}")
    return torch.from_numpy(perms.astype(np.int64)).reshape(-1, n)


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


def build(recipe, seed):
    torch.manual_seed(seed)
    act = nn.ReLU if recipe == "modern" else nn.Sigmoid
    layers = [nn.Linear(PIXELS, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, CLASSES)]
    if recipe == "classic":
        layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                std = (2 / m.in_features) ** 0.5 if recipe == "modern" else 1.0
                m.weight.normal_(0, std)
                m.bias.zero_()
    if recipe == "modern":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()

        def loss_of(x, y, labels):
            return loss_fn(model(x), labels)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=3.0)

        def loss_of(x, y, labels):
            # mean over the batch of ½‖y − a‖²
            return 0.5 * (y - model(x)).pow(2).sum(dim=1).mean()

    return model, optimizer, loss_of


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", required=True, choices=["modern", "classic", "inference"])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--perm", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--data-kind", default="mnist")
    p.add_argument("--warmup", type=int)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--soak", type=int)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    if a.epochs < 1:
        p.error("--epochs must be at least 1")
    torch.set_num_threads(a.threads)
    batch = a.batch or {"modern": 64, "classic": 10, "inference": 1000}[a.recipe]

    train_x, train_y, train_labels, test_x, test_labels = load_data(a.data)
    n = train_labels.shape[0]
    perms = load_permutations(a.perm, n)
    train_recipe = "modern" if a.recipe == "inference" else a.recipe
    train_batch = 64 if a.recipe == "inference" else batch
    model, optimizer, loss_of = build(train_recipe, a.seed)
    epoch_samples = min(QUICK_SAMPLES if a.quick else n, n)
    batches_per_epoch = epoch_samples // train_batch
    last_loss = [None]

    def train_batches(order, count):
        model.train()
        for b in range(count):
            idx = order[b * train_batch : (b + 1) * train_batch]
            x, y, labels = train_x[idx], train_y[idx], train_labels[idx]
            optimizer.zero_grad()
            loss = loss_of(x, y, labels)
            loss.backward()
            optimizer.step()
            if b == count - 1:
                last_loss[0] = loss.item()

    test_n = min(QUICK_SAMPLES if a.quick else test_labels.shape[0], test_labels.shape[0])
    infer_batch = batch if a.recipe == "inference" else 1000

    def evaluate():
        model.eval()
        correct = 0
        with torch.inference_mode():
            for start in range(0, test_n - infer_batch + 1, infer_batch):
                predicted = model(test_x[start : start + infer_batch]).argmax(dim=1).numpy()
                correct += int((predicted == test_labels[start : start + infer_batch].numpy()).sum())
        return correct / ((test_n // infer_batch) * infer_batch)

    base = {
        "impl": "pytorch",
        "recipe": a.recipe,
        "batch": batch,
        "data": a.data_kind,
        "loader": "numpy-idx",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "blas": blas_in_use(),
    }

    def line(fields):
        print(json.dumps(fields), flush=True)

    def peak_rss_mb():
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    if a.soak is not None:
        train_batches(perms[0], min(a.warmup if a.warmup is not None else 300, batches_per_epoch))
        for e in range(1, a.soak + 1):
            t0 = time.perf_counter()
            train_batches(perms[e % perms.shape[0]], batches_per_epoch)
            seconds = time.perf_counter() - t0
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            line({**base, "soak_epoch": e, "epoch_s": round(seconds, 4), "loss": round(last_loss[0], 5),
                  "rss_mb": round(rss / 2**20, 1)})
        line({**base, "soak_epochs": a.soak, "peak_rss_mb": peak_rss_mb()})
        return

    if a.recipe == "inference":
        fit_samples = min(QUICK_SAMPLES if a.quick else INFERENCE_FIT_SAMPLES, n)
        train_batches(perms[0], fit_samples // train_batch)
        for _ in range(a.warmup if a.warmup is not None else 3):
            evaluate()
        passes = max(1, a.epochs * INFERENCE_PASSES_PER_EPOCH)
        times = []
        accuracy = 0.0
        for _ in range(passes):
            t0 = time.perf_counter()
            accuracy = evaluate()
            times.append(time.perf_counter() - t0)
        samples = (test_n // infer_batch) * infer_batch
        seconds = statistics.median(times)
        line({**base, "epoch_s": round(seconds, 5), "samples_per_s": round(samples / seconds), "samples": samples,
              "passes": passes, "accuracy": round(accuracy, 4), "peak_rss_mb": peak_rss_mb()})
        return

    warmup = min(a.warmup if a.warmup is not None else (20 if a.quick else 300), batches_per_epoch)
    train_batches(perms[0], warmup)
    times = []
    for e in range(a.epochs):
        t0 = time.perf_counter()
        train_batches(perms[(e + 1) % perms.shape[0]], batches_per_epoch)
        times.append(time.perf_counter() - t0)
    samples = batches_per_epoch * train_batch
    seconds = statistics.median(times)
    line({**base, "epoch_s": round(seconds, 4), "samples_per_s": round(samples / seconds), "samples": samples,
          "epochs": a.epochs, "epoch_s_all": [round(t, 4) for t in times], "loss": round(last_loss[0], 5),
          "test_acc": round(evaluate(), 4), "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - report any failure as one clear line on stderr
        print(f"pytorch.py: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
