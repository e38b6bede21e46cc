"""`course train` end to end on a tiny budget (the shipped subset), and its parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from course.product.train import data, network, schedule

REPO = Path(__file__).resolve().parent.parent


def run_course(*args, env_update=None, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_update or {})}
    return subprocess.run(
        [sys.executable, "-m", "course", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.long
def test_course_train_runs_end_to_end_on_the_subset(tmp_path):
    out, run_dir = tmp_path / "model", tmp_path / "run"
    r = run_course(
        "train",
        "--subset",
        "--epochs",
        "1",
        "--limit-train",
        "512",
        "--no-progress",
        "--out",
        str(out),
        "--run-dir",
        str(run_dir),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "test accuracy on 1,000 images" in r.stdout
    meta = json.loads((out / "model.json").read_text())
    assert meta["training"]["n_train"] == 512 and meta["training"]["epochs"] == 1
    assert meta["evaluation"]["n_test"] == 1000
    assert 0.0 <= meta["evaluation"]["test_accuracy_onnx"] <= 1.0
    assert sum(meta["evaluation"]["per_class"].values()) > 0 or meta["evaluation"]["test_accuracy_onnx"] == 0
    check = meta["evaluation"]["onnx_check"]
    assert check["images"] == 1000 and check["max_abs_diff"] < 1e-3 and check["argmax_agreement"] >= 0.99
    assert list((run_dir / "checkpoints").glob("best-*.ckpt")), "the best checkpoint is kept"
    metrics = next((run_dir / "logs").rglob("metrics.csv")).read_text()
    assert "val_acc" in metrics and "train_loss" in metrics
    card = (out / "MODEL_CARD.md").read_text()
    assert "## Accuracy on the test set" in card and meta["training"]["device"] in card

    # what course train wrote is what course serve serves
    from fastapi.testclient import TestClient

    from course.product.api import create_app

    with TestClient(create_app(out)) as client:
        png = (REPO / "course" / "product" / "web" / "samples" / "cat-0.png").read_bytes()
        r = client.post("/predict", files={"file": ("cat.png", png, "image/png")})
        assert r.status_code == 200 and r.json()["label"] in meta["classes"]


def test_course_train_without_the_full_data_says_how_to_get_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COURSE_CIFAR10_DIR"}
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run(
        [sys.executable, "-m", "course", "train", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1
    assert "COURSE_CIFAR10_DIR" in r.stderr and "--download" in r.stderr and "--subset" in r.stderr
    assert not (tmp_path / "model.onnx").exists()


def test_augment_crops_and_flips_whole_batches():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 32, 32, 3), dtype=torch.uint8)
    out = data.augment(images, g)
    assert out.shape == images.shape and out.dtype == torch.uint8
    # each output row is a shifted (maybe mirrored) window of its own image, padding reflected
    padded = torch.nn.functional.pad(images.permute(0, 3, 1, 2).float(), (4, 4, 4, 4), mode="reflect")
    for i in range(len(images)):
        o = out[i].permute(2, 0, 1).float()
        found = any(
            torch.equal(o, view)
            for dy in range(9)
            for dx in range(9)
            for view in (padded[i, :, dy : dy + 32, dx : dx + 32], padded[i, :, dy : dy + 32, dx : dx + 32].flip(2))
        )
        assert found, f"image {i} is not a crop of its padded image"
    moved = sum(not torch.equal(out[i], images[i]) for i in range(len(images)))
    assert moved > len(images) // 2  # 1 in 162 (shift, flip) pairs leaves an image as it was


def test_no_crop_and_no_flip_is_the_identity():
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (8, 32, 32, 3), dtype=torch.uint8)
    # pad=0 leaves no room to shift; whatever the flips, each image is itself or its mirror
    out = data.augment(images, g, pad=0)
    for i in range(8):
        assert torch.equal(out[i], images[i]) or torch.equal(out[i], images[i].flip(1))


def test_epochs_for_budget_fits_the_budget():
    # 1,000 images/s, 48,000 images: 49.4 s of training + 0.7 s of validation per epoch
    assert schedule.epochs_for_budget(600, 1000, 48_000, 2000, reserve_s=45) == 11
    assert schedule.epochs_for_budget(60, 1000, 48_000, 2000, reserve_s=45) == 1  # never zero


def test_network_size_and_output():
    net = network.build_net()
    assert 400_000 < sum(p.numel() for p in net.parameters()) < 600_000
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_served_model_outputs_probabilities():
    net = network.build_net().eval()
    x = torch.randn(3, 3, 32, 32)
    for flip in (False, True):
        probs = network.Served(net, flip=flip)(x)
        torch.testing.assert_close(probs.sum(1), torch.ones(3))
    mirrored = network.Served(net, flip=True)(x.flip(3))
    torch.testing.assert_close(mirrored, network.Served(net, flip=True)(x))  # symmetric by construction
    assert np.all(np.isfinite(mirrored.detach().numpy()))


def test_clock_schedule_has_the_shape_of_torch_one_cycle():
    """The budget's clock-driven schedule and the step-driven OneCycleLR of --epochs agree."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.2, momentum=0.9, nesterov=True)
    total = 200
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=0.2,
        total_steps=total,
        pct_start=network.PCT_START,
        anneal_strategy="linear",
        div_factor=network.DIV_FACTOR,
        final_div_factor=network.FINAL_DIV_FACTOR,
        base_momentum=network.MOMENTUM_RANGE[0],
        max_momentum=network.MOMENTUM_RANGE[1],
    )
    for step in range(total):
        # OneCycleLR puts its peak at step pct_start * total - 1 and its end at total - 1
        progress = step / (total - 1) if step <= 49 else 0.25 + 0.75 * (step - 49) / (total - 1 - 49)
        lr, momentum = schedule.one_cycle(progress, 0.2)
        assert abs(opt.param_groups[0]["lr"] - lr) < 0.2 * 0.02, step
        assert abs(opt.param_groups[0]["momentum"] - momentum) < 0.01, step
        opt.step()
        sched.step() if step < total - 1 else None
    assert schedule.one_cycle(1.0, 0.2)[0] == pytest.approx(0.2 / 20 / 200)
    assert schedule.one_cycle(5.0, 0.2)[0] == pytest.approx(0.2 / 20 / 200)  # past the end: stays annealed


@pytest.mark.parametrize("world", [2, 4])
def test_global_batches_share_out_the_one_process_batches(world):
    """Each step, the processes' shares make up exactly the batch one process would take,
    every process takes the same number of steps, and the next epoch is a new order."""
    one = data.GlobalBatches(1000, 256, seed=3)
    shares = [data.GlobalBatches(1000, 256, seed=3, rank=r, world=world) for r in range(world)]
    for epoch in range(2):
        for s in (one, *shares):
            s.set_epoch(epoch)
        whole = list(one)
        parts = [list(s) for s in shares]
        assert len(whole) == 3 and all(len(p) == 3 for p in parts)
        for step, batch in enumerate(whole):
            assert all(len(p[step]) == 256 // world for p in parts)
            assert sum((p[step] for p in parts), []) == batch
        if epoch == 0:
            first = whole
    assert whole != first


def test_augmentation_shares_add_up_to_the_one_process_augmentation():
    images = torch.randint(0, 256, (64, 32, 32, 3), dtype=torch.uint8)
    whole = data.augment(images, torch.Generator().manual_seed(5))
    halves = [
        data.augment(images[r * 32 : (r + 1) * 32], torch.Generator().manual_seed(5), share=(r, 2)) for r in range(2)
    ]
    assert torch.equal(torch.cat(halves), whole)


def _args(**kw):
    import argparse

    from course.product.train import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([f"--{k.replace('_', '-')}={v}" for k, v in kw.items()])


def test_process_plan_keeps_the_global_batch_and_refuses_what_cannot_run():
    from course.product.train import processes

    plan = processes.plan(_args(accelerator="cpu", devices=2, num_nodes=3, batch_size=240))
    assert (plan.world, plan.per_process_batch, plan.strategy) == (6, 40, "ddp")
    assert "global batch 240 = 6 x 40 images per process" in plan.describe(0.2)
    assert processes.plan(_args(accelerator="cpu")).strategy == "auto"
    with pytest.raises(SystemExit, match="multiple of 3"):
        processes.plan(_args(accelerator="cpu", devices=3))
    with pytest.raises(SystemExit, match="fsdp needs GPUs"):
        processes.plan(_args(accelerator="cpu", devices=2, strategy="fsdp"))
