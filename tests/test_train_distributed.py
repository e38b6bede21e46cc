"""`course train` on two real processes (gloo on the CPU), started the two ways a learner
would: by Lightning itself (`--accelerator cpu --devices 2`) and by `torchrun --standalone
--nproc_per_node 2`, each compared with the one-process run of the same shape.

Four short trainings on the shipped subset, the one-process run the reference of both
comparisons: under a minute on a quiet 2-core machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long  # trainings of two processes: started first under pytest-xdist

REPO = Path(__file__).resolve().parent.parent
SLACK_S = 45  # a budget is for the whole command; allow for a busy machine's slow exit


def course_train(tmp_path: Path, name: str, *args: str, torchrun: bool = False):
    out, run_dir = tmp_path / name / "model", tmp_path / name / "run"
    command = [
        sys.executable,
        "-m",
        "course",
        "train",
        "--subset",
        "--no-progress",
        "--out",
        str(out),
        "--run-dir",
        str(run_dir),
        *args,
    ]
    if torchrun:
        command[1:3] = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "course"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    meta = json.loads((out / "model.json").read_text())
    t = meta["training"]
    print(
        f"{name}: {t['processes']['world_size']} process(es), {t['steps']} steps, fit {t['fit_seconds']} s, "
        f"whole {t['total_seconds']} s, test accuracy {meta['evaluation']['test_accuracy_onnx']:.4f}, "
        f"load {t['load_start']} -> {t['load_end']}"
    )
    return r, meta, out, run_dir


def assert_written_once_by_rank_0(r, out: Path, run_dir: Path):
    assert sorted(p.name for p in out.iterdir()) == ["MODEL_CARD.md", "model.json", "model.onnx"]
    assert len(list((run_dir / "checkpoints").iterdir())) == 1
    assert len(list((run_dir / "logs").rglob("metrics.csv"))) == 1
    assert r.stdout.count("wrote ") == 1 and r.stdout.count("test accuracy on 1,000 images") == 1
    assert "2 processes joined the gloo process group (ranks 0-1)" in r.stdout
    assert "global batch 256 = 2 x 128 images per process" in r.stdout


def assert_quiet(r):
    for chatter in (
        "GPU available",
        "TPU available",
        "litlogger",
        "Trainable params",
        "LOCAL_RANK",
        "Initializing distributed",
        "`Trainer.fit` stopped",
        "\r",
        "\x1b[",
    ):
        assert chatter not in r.stdout + r.stderr, chatter


SHAPE = ("--epochs", "2", "--limit-train", "2048")  # 8 global batches of 256 per epoch: 16 steps


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The one-process run both comparisons measure against (a module's tests share a worker)."""
    _, meta, _, _ = course_train(tmp_path_factory.mktemp("one"), "one", "--accelerator", "cpu", *SHAPE)
    assert meta["training"]["processes"]["world_size"] == 1
    return meta


def test_two_processes_started_by_lightning_keep_the_budget(tmp_path, one_process):
    r, meta, out, run_dir = course_train(tmp_path, "ddp", "--accelerator", "cpu", "--devices", "2", "--budget", "15")
    assert_written_once_by_rank_0(r, out, run_dir)
    assert_quiet(r)
    t = meta["training"]
    assert t["processes"]["world_size"] == 2 and t["processes"]["per_process_batch"] == 128
    assert t["steps"] >= 1 and t["total_seconds"] < 15 + SLACK_S, t
    # On the same cores the two processes share out each global batch, so together they train
    # about as many images a second as one process does, not twice as many (nor half)
    two_speed, one_speed = t["train_images_per_s"], one_process["training"]["train_images_per_s"]
    assert one_speed / 3 <= two_speed <= 3 * one_speed, (two_speed, one_speed)
    assert 0.0 <= meta["evaluation"]["test_accuracy_onnx"] <= 1.0


@pytest.mark.parametrize("launcher", ["torchrun"])
def test_torchrun_takes_the_one_process_steps_on_the_same_batches(tmp_path, launcher, one_process):
    r, two, out, run_dir = course_train(
        tmp_path, "torchrun", "--accelerator", "cpu", "--devices", "2", *SHAPE, torchrun=True
    )
    assert_written_once_by_rank_0(r, out, run_dir)
    assert two["training"]["steps"] == one_process["training"]["steps"] == 16
    # the same global batches (GlobalBatches), the same augmentation draws, the same schedule:
    # only BatchNorm's per-process statistics and float sums differ (measured 0.181 vs 0.176)
    a2, a1 = two["evaluation"]["test_accuracy_onnx"], one_process["evaluation"]["test_accuracy_onnx"]
    assert abs(a2 - a1) <= 0.05, (a2, a1)


FAKE_SRUN = """#!/bin/bash
# Stands in for SLURM's srun on one machine: SLURM_NTASKS copies of the command, each with
# the task variables srun sets (one node).
pids=()
for ((i = 0; i < SLURM_NTASKS; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NODEID=0 "$@" &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
exit $rc
"""


def test_the_slurm_batch_script_forms_the_group_from_slurms_variables(tmp_path):
    """deploy/slurm/train.sbatch as SLURM would run it on one node with two tasks: the job's
    variables, an srun that starts the tasks, and Lightning's SLURM support joining them
    (options after the script go to course train: here the CPU and a tiny run)."""
    from course.product.serve_benchmark import free_port

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(FAKE_SRUN)
    (bin_dir / "srun").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NAME": "course-train",
        "SLURM_NTASKS": "2",
        "SLURM_NTASKS_PER_NODE": "2",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_NNODES": "1",
        "SLURM_NODELIST": "127.0.0.1",
        "SLURM_SUBMIT_DIR": str(REPO),
        "MASTER_PORT": str(free_port()),
        "OUT": str(tmp_path / "job"),
    }
    r = subprocess.run(
        [
            "bash",
            str(REPO / "deploy" / "slurm" / "train.sbatch"),
            "--accelerator",
            "cpu",
            "--subset",
            "--epochs",
            "1",
            "--limit-train",
            "1024",
            "--no-progress",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert_written_once_by_rank_0(r, tmp_path / "job" / "model", tmp_path / "job" / "run")
    meta = json.loads((tmp_path / "job" / "model" / "model.json").read_text())
    assert meta["training"]["processes"]["world_size"] == 2 and meta["training"]["steps"] == 4
