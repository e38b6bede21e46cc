"""The checks for scaling training (graders/sct/distributed.py, performance.py, tracking.py,
compression.py) and the helpers they read (course.core.distributed): for each check, an answer
that passes and answers that fail with their exact message. Exercises are throwaway ones,
built in a temporary folder, so the tests do not depend on the course content."""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch
from engine_support import SUCCESS, check, make_exercise

from course.core.distributed import RankFailed, run_ranks
from graders.feedback import ERROR, FAILED, PASSED


def _passes(feedback):
    assert feedback.outcome == PASSED, feedback.text()
    assert feedback.message == SUCCESS


def _fails(feedback, message, expected=None, got=None):
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message == message
    assert (feedback.expected, feedback.got) == (expected, got)


def _children() -> set[int]:
    """Live (not zombie) child processes of this process."""
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(pid))
    return found


# --------------------------------------------------------------------------- run_ranks


def _average(rank, world_size):
    import torch.distributed as dist

    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    return t.item() / world_size


def _fails_on_rank_1(rank, world_size):
    if rank == 1:
        raise ValueError("a bad shard")
    time.sleep(30)  # rank 0 would wait for ever: the launcher must stop it


def _hangs(rank, world_size):
    time.sleep(60)


def test_run_ranks_returns_each_rank_result_and_leaves_no_process():
    before = _children()
    assert run_ranks(_average, 2) == [1.5, 1.5]
    assert _children() == before


def test_a_failing_rank_is_named_and_the_others_are_stopped():
    before = _children()
    start = time.monotonic()
    with pytest.raises(RankFailed, match=r"^rank 1 failed on line \d+: ValueError: a bad shard$"):
        run_ranks(_fails_on_rank_1, 2)
    assert time.monotonic() - start < 10
    assert _children() == before


def test_ranks_past_the_time_limit_are_killed():
    before = _children()
    with pytest.raises(RankFailed, match=r"^rank 0, 1 did not finish in time"):
        run_ranks(_hangs, 2, timeout_s=1)
    assert _children() == before


def test_an_interrupt_kills_the_ranks():
    before = _children()
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_ranks(_hangs, 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert _children() == before


# --------------------------------------------------------------------------- ranks

RANKS_PRE = """
    import torch
    import torch.distributed as dist
    from course.core.distributed import run_ranks
    data = torch.arange(8.0)
"""

RANKS_SOLUTION = """
    def work(rank, world_size):
        dist.init_process_group("gloo", rank=rank, world_size=world_size)
        mine = list(range(rank, 8, world_size))
        grad = data[mine].sum().reshape(1)
        dist.all_reduce(grad)
        grad /= world_size
        return {"rank": rank, "images": mine, "grads": [grad]}
    results = run_ranks(work, 2)
"""


@pytest.fixture(scope="module")
def ranks_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("ranks"),
        """
        from graders.sct import SCT, ranks
        sct = SCT(ranks("results").processes(2).own_shards().agree("grads").averaged("grads"))
    """,
        RANKS_SOLUTION,
        pre=RANKS_PRE,
    )


def test_ranks_pass(ranks_exercise):
    _passes(check(ranks_exercise, RANKS_SOLUTION))


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            "results = run_ranks(work, 2)",
            "results = run_ranks(work, 1)",
            "1 process trained; this run should have 2, one per device.",
            "2 ranks",
            "ranks [0]",
        ),
        (
            "mine = list(range(rank, 8, world_size))",
            "mine = list(range(8))",
            "The ranks trained on the same images (8 of 8, 100%): each process should see its own shard of the data, "
            "which a DistributedSampler gives it.",
            "disjoint shards",
            "8 images seen by more than one rank",
        ),
        (
            "        dist.all_reduce(grad)\n        grad /= world_size\n",
            "",
            "The ranks ended with different grads (largest difference 4): every rank must apply the same update, so the "
            "gradients have to be combined across ranks with an all-reduce before the step.",
            "the same tensors on every rank",
            "rank 0 and rank 1 differ",
        ),
        (
            "        grad /= world_size\n",
            "",
            "'grads' is 2 times the average: all_reduce with SUM adds up the ranks' tensors, so divide by the world "
            "size to average them.",
            "the average over ranks",
            "2 x the average",
        ),
        (
            "results = run_ranks(work, 2)",
            "results = 3",
            "`results` should be a list with one dict per rank, as run_ranks returns when each rank returns a dict; got "
            "a int.",
            None,
            None,
        ),
    ],
)
def test_ranks_fail(ranks_exercise, old, new, message, expected, got):
    code = RANKS_SOLUTION.replace(old, new)
    assert code != RANKS_SOLUTION
    _fails(check(ranks_exercise, code), message, expected, got)


FOLDER_SOLUTION = """
    import os
    import torch
    os.makedirs("ranks")
    for r in (0, 1):
        torch.save({"rank": r, "images": [r, r + 2], "state_dict": {"w": torch.ones(2)}}, f"ranks/rank-{r}.pt")
"""


def test_ranks_from_a_folder(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, ranks
        sct = SCT(ranks(folder="ranks").processes(2).own_shards().agree("state_dict"))
    """,
        FOLDER_SOLUTION,
    )
    _passes(check(ex, FOLDER_SOLUTION))
    _fails(
        check(ex, "x = 1\n"),
        "No process recorded any training: a Trainer that is created but never fitted "
        "trains nothing; call trainer.fit(model, ...).",
        "one record per rank",
        "none",
    )
    _fails(
        check(ex, FOLDER_SOLUTION.replace("torch.ones(2)}", "torch.ones(2) * (r + 1)}")),
        "The ranks ended with different state_dict (largest difference 1): every rank must apply the same "
        "update, so the gradients have to be combined across ranks with an all-reduce before the step.",
        "the same tensors on every rank",
        "rank 0 and rank 1 differ",
    )


# --------------------------------------------------------------------------- training_record

# A real one-process fit: 8 batches of 4, 4 accumulated per step, in bf16-mixed, channels-last.
# The training step calls a layer rather than forward, and its loss module computes in float32:
# the recorder reports the dtype of the logits all the same.
RECORD_SOLUTION = """
    import pytorch_lightning as pl
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
            self.loss = nn.CrossEntropyLoss()

        def training_step(self, batch, batch_idx):
            return self.loss(self.net(batch[0]).float(), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = TensorDataset(torch.randn(32, 3, 8, 8), torch.randint(0, 2, (32,)))
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, precision="bf16-mixed",
                         accumulate_grad_batches=4, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Tiny().to(memory_format=torch.channels_last), DataLoader(data, batch_size=4))
"""


@pytest.fixture(scope="module")
def record_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("record"),
        """
        from graders.sct import SCT, SOLUTION, training_record
        sct = SCT(training_record().computed_in().weights_in("float32").batches().optimizer_steps().channels_last())
    """,
        RECORD_SOLUTION,
    )


def test_training_record_passes(record_exercise):
    _passes(check(record_exercise, RECORD_SOLUTION))


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            'precision="bf16-mixed"',
            'precision="32-true"',
            "The forward pass computed in float32; this run should "
            'compute in bfloat16. Set the Trainer\'s precision, e.g. precision="bf16-mixed" on a CPU.',
            "bfloat16",
            "float32",
        ),
        (
            'precision="bf16-mixed"',
            'precision="bf16-true"',
            "The weights were stored in bfloat16 while "
            'training. Mixed precision keeps float32 weights and computes in a lower precision; a "-true" precision '
            "casts the weights themselves, and small updates get lost.",
            "float32 weights",
            "bfloat16 weights",
        ),
        (
            "accumulate_grad_batches=4",
            "accumulate_grad_batches=1",
            "The optimizer stepped 8 times over 8 batches; it "
            "should step 2 times. That is one step per batch: nothing was accumulated.",
            "2 optimizer steps",
            "8 optimizer steps",
        ),
        (
            "accumulate_grad_batches=4",
            "accumulate_grad_batches=8",
            "The optimizer stepped 1 times over 8 batches; it "
            "should step 2 times. That is fewer steps than accumulating expected: accumulate_grad_batches counts "
            "batches, not images.",
            "2 optimizer steps",
            "1 optimizer steps",
        ),
        (
            "batch_size=4",
            "batch_size=8",
            "The run trained on batches of 8 images (4 batches); it should train on batches of 4 images (8 batches).",
            "4 images (8 batches)",
            "8 images (4 batches)",
        ),
        (
            "Tiny().to(memory_format=torch.channels_last)",
            "Tiny()",
            "The convolution weights were not in channels-last "
            "memory format while training: convert the model with .to(memory_format=torch.channels_last).",
            "channels_last",
            "contiguous (NCHW)",
        ),
        (
            "    trainer.fit(",
            "    print(",
            "No training run was recorded: call trainer.fit(model, ...) and let it run to the end.",
            "a finished fit",
            "no record",
        ),
    ],
)
def test_training_record_fails(record_exercise, old, new, message, expected, got):
    _fails(check(record_exercise, RECORD_SOLUTION.replace(old, new)), message, expected, got)


def test_rank_recorder_records_a_lightning_run(tmp_path):
    """The mixin's record, from a real one-process fit: the images this rank saw, its weights."""
    import pytorch_lightning as pl
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from course.core.distributed import RankRecorder

    class Tiny(RankRecorder, pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))

        def training_step(self, batch, batch_idx):
            return nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = TensorDataset(torch.randn(16, 3, 8, 8), torch.randint(0, 2, (16,)))
    os.chdir(tmp_path)
    model = Tiny()
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, DataLoader(data, batch_size=4))
    record = torch.load(tmp_path / "ranks" / "rank-0.pt", weights_only=False)
    assert (record["rank"], record["world_size"], len(record["images"])) == (0, 1, 16)
    assert torch.equal(record["state_dict"]["net.1.weight"], model.net[1].weight.detach())


# --------------------------------------------------------------------------- mlflow_runs

MLFLOW_SOLUTION = """
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
    run = client.create_run(client.create_experiment("cifar"))
    client.log_param(run.info.run_id, "lr", 0.001)
    client.log_metric(run.info.run_id, "val_acc", 0.5)
    client.set_terminated(run.info.run_id)
"""


@pytest.fixture(scope="module")
def mlflow_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("mlflow"),
        """
        from graders.sct import SCT, mlflow_runs
        sct = SCT(mlflow_runs("sqlite:///mlflow.db", experiment="cifar").runs(1).params("lr").metrics("val_acc")
                  .finished())
    """,
        MLFLOW_SOLUTION,
        pre="from course.core.tracking import tracking_store\ntracking_store('mlflow.db')\n",
        timeout_s=60,
    )


def test_mlflow_runs_pass(mlflow_exercise):
    _passes(check(mlflow_exercise, MLFLOW_SOLUTION))


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            'create_experiment("cifar")',
            'create_experiment("other")',
            "The store has no experiment named 'cifar': the "
            "run went to 'other'. Name the experiment experiment_name=\"cifar\", so the run is found where the project "
            "keeps it.",
            "experiment 'cifar'",
            "experiments: other",
        ),
        (
            '    client.log_metric(run.info.run_id, "val_acc", 0.5)\n',
            "",
            "Run 1 of 'cifar' has no metric 'val_acc'.",
            "val_acc",
            "none",
        ),
        (
            "    client.set_terminated(run.info.run_id)\n",
            "",
            "A run of 'cifar' ended as RUNNING: let trainer.fit finish, which closes the run.",
            "FINISHED",
            "RUNNING",
        ),
        (
            '    client.log_param(run.info.run_id, "lr", 0.001)\n    client.log_metric(run.info.run_id, "val_acc", 0.5)\n',
            "",
            "A run was opened in 'cifar' but nothing was logged to it: give the logger to the Trainer (logger=...), "
            "which sends it the hyperparameters and the metrics.",
            "hyperparameters and metrics",
            "an empty run",
        ),
    ],
)
def test_mlflow_runs_fail(mlflow_exercise, old, new, message, expected, got):
    _fails(check(mlflow_exercise, MLFLOW_SOLUTION.replace(old, new)), message, expected, got)


def test_mlflow_runs_counts_runs_and_names_the_file_store(mlflow_exercise):
    two = MLFLOW_SOLUTION.replace(
        'run = client.create_run(client.create_experiment("cifar"))',
        'eid = client.create_experiment("cifar")\n'
        "    client.set_terminated(client.create_run(eid).info.run_id)\n"
        "    run = client.create_run(eid)",
    )
    _fails(check(mlflow_exercise, two), "The experiment 'cifar' holds 2 runs; it should hold 1.", "1 runs", "2 runs")
    _fails(
        check(mlflow_exercise, "import os\nos.remove('mlflow.db')\nos.makedirs('mlruns')\n"),
        "Nothing was written to the tracking store sqlite:///mlflow.db. Your code wrote to ./mlruns, MLflow's "
        'deprecated file store, instead. Give MLFlowLogger tracking_uri="sqlite:///mlflow.db".',
        "runs in sqlite:///mlflow.db",
        "no store",
    )


# --------------------------------------------------------------------------- study

STUDY_SOLUTION = """
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    def objective(trial):
        x = trial.suggest_float("x", 1e-3, 1.0, log=True)
        return -(x - 0.1) ** 2
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=4)
"""


@pytest.fixture(scope="module")
def study_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("study"),
        """
        from graders.sct import SCT, study
        sct = SCT(study("study").trials(4).searched("x").direction("maximize").values())
    """,
        STUDY_SOLUTION,
    )


def test_study_passes(study_exercise):
    _passes(check(study_exercise, STUDY_SOLUTION))


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("n_trials=4", "n_trials=2", "2 trials completed; the study should run 4."),
        (
            "log=True",
            "log=False",
            "Search 'x' on a log scale (log=True): a learning rate matters by its order of "
            "magnitude, and a uniform search from 1e-4 to 1e-1 spends nine trials in ten above 0.01.",
        ),
        (
            'direction="maximize"',
            'direction="minimize"',
            "The study tries to minimize its objective, but the objective returns a value to maximize.",
        ),
        ("return -(x - 0.1) ** 2", "return 0.0", "Trial 0 returned 0.0; training with"),
    ],
)
def test_study_fails(study_exercise, old, new, message):
    feedback = check(study_exercise, STUDY_SOLUTION.replace(old, new))
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message.startswith(message), feedback.message


def test_study_must_be_a_study(study_exercise):
    _fails(
        check(study_exercise, "study = 3\n"),
        "`study` should be an optuna Study, from optuna.create_study(...); got a int.",
    )
    _fails(
        check(study_exercise, "pass\n"), "Your code does not define `study`: create it with optuna.create_study(...)."
    )


# --------------------------------------------------------------------------- compressed

COMPRESS_PRE = """
    import copy
    import torch
    import torch.nn.utils.prune as prune
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    torch.save(model.state_dict(), "model.pt")
"""

COMPRESS_SOLUTION = """
    small = copy.deepcopy(model)
    prune.l1_unstructured(small[1], name="weight", amount=0.5)
    prune.remove(small[1], "weight")
    small = small.to(torch.bfloat16)
    torch.save(small.state_dict(), "small.pt")
    predict = lambda x: small(x.to(torch.bfloat16))
"""


@pytest.fixture(scope="module")
def compress_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("compress"),
        """
        from graders.sct import SCT, SOLUTION, compressed
        sct = SCT(
            compressed("small.pt", model="predict").original_unchanged().no_pruning_leftovers()
            .stored_as("bfloat16").size(at_most=0.55).agreement(0.6),
            compressed(None, model="small").sparsity(SOLUTION),
        )
    """,
        COMPRESS_SOLUTION,
        pre=COMPRESS_PRE,
    )


def test_compressed_passes(compress_exercise):
    _passes(check(compress_exercise, COMPRESS_SOLUTION))


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            "small = copy.deepcopy(model)",
            "small = model",
            "`model` was changed: compress a copy "
            "(copy.deepcopy(model)), so the original stays the reference every variant is compared with.",
            "model as in model.pt",
            "changed weights",
        ),
        (
            '    prune.remove(small[1], "weight")\n',
            "",
            "The saved state dict still holds pruning's 1.weight_orig and its "
            'mask, so the file is twice the size: call prune.remove(module, "weight") on each pruned layer before saving, '
            "which makes the pruning permanent.",
            "weight",
            "1.weight_orig, 1.weight_mask",
        ),
        (
            "torch.bfloat16)\n    torch.save",
            "torch.float16)\n    torch.save",
            "The weights in small.pt are stored as float16; they should be bfloat16.",
            "bfloat16",
            "float16",
        ),
        ('torch.save(small.state_dict(), "small.pt")', 'torch.save(model.state_dict(), "small.pt")', None, None, None),
        (
            "amount=0.5",
            "amount=50",
            "0.2% of the weights of `small` are zero; pruning should leave 50% zeros.",
            "50% of the weights zero",
            "0.2% of the weights zero",
        ),
        (
            "predict = lambda x: small(x.to(torch.bfloat16))",
            "predict = lambda x: -small(x.to(torch.bfloat16))",
            None,
            None,
            None,
        ),
    ],
)
def test_compressed_fails(compress_exercise, old, new, message, expected, got):
    code = COMPRESS_SOLUTION.replace(old, new)
    assert code != COMPRESS_SOLUTION
    feedback = check(compress_exercise, code)
    if old.startswith("torch.save"):
        assert feedback.outcome == FAILED and feedback.message.startswith(
            "The weights in small.pt are stored as float32"
        ), feedback.text()
    elif new.startswith("predict = lambda x: -"):
        assert feedback.outcome == FAILED and feedback.message.startswith(
            "`predict` agrees with the original model on "
        ), feedback.text()
        assert feedback.message.endswith("of 256 CIFAR-10 test images; it should agree on at least 60.0%.")
    else:
        _fails(feedback, message, expected, got)


def test_compressed_size_names_the_original(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, compressed
        sct = SCT(compressed("small.pt").size(at_most=0.6))
    """,
        'torch.save(model.to(torch.bfloat16).state_dict(), "small.pt")\n',
        pre=COMPRESS_PRE,
    )
    _passes(check(ex, 'torch.save(model.to(torch.bfloat16).state_dict(), "small.pt")\n'))
    feedback = check(ex, 'torch.save(model.state_dict(), "small.pt")\n')
    assert feedback.outcome == FAILED
    assert feedback.message == (
        "small.pt is 122 kB, 100% of the original's 122 kB: compression should leave at "
        "most 60%. Did you save the compressed model, or the original?"
    )
    _fails(
        check(ex, "pass\n"),
        "No file small.pt was written: save the compressed model to it, so its size on disk can be measured.",
        "small.pt",
        "no such file",
    )


# --------------------------------------------------------------------------- distillation_loss

KD_SOLUTION = """
    import torch.nn.functional as F
    def distillation_loss(s, t, T=4.0):
        return F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") * T * T
"""


@pytest.fixture(scope="module")
def kd_exercise(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("kd"),
        """
        from graders.sct import SCT, distillation_loss
        sct = SCT(distillation_loss("distillation_loss", temperature=4.0))
    """,
        KD_SOLUTION,
    )


def test_distillation_loss_passes(kd_exercise):
    _passes(check(kd_exercise, KD_SOLUTION))
    _passes(check(kd_exercise, KD_SOLUTION.replace("* T * T", "* T ** 2")))


@pytest.mark.parametrize(
    "old,new,start",
    [
        (" * T * T", "", "The loss is 16 times too small: multiply the KL divergence by T * T."),
        (
            'reduction="batchmean"',
            'reduction="mean"',
            'The loss is averaged over every element instead of every image: use reduction="batchmean"',
        ),
        (
            "F.log_softmax(s / T, 1), F.softmax(t / T, 1)",
            "F.log_softmax(t / T, 1), F.softmax(s / T, 1)",
            "distillation_loss gives ",
        ),
        (
            'reduction="batchmean")',
            'reduction="batchmean").item()',
            "distillation_loss should return the loss as a tensor holding one number; it returned a float.",
        ),
    ],
)
def test_distillation_loss_fails(kd_exercise, old, new, start):
    feedback = check(kd_exercise, KD_SOLUTION.replace(old, new))
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message.startswith(start), feedback.message


# --------------------------------------------------------------------------- the sandbox and processes


def test_a_rank_failure_in_the_sandbox_is_an_error_naming_the_rank(ranks_exercise):
    feedback = check(
        ranks_exercise, RANKS_SOLUTION.replace("mine = list", "assert rank == 0, 'no shard'\n        mine = list")
    )
    assert feedback.outcome == ERROR
    assert "RankFailed" in feedback.message and "rank 1 failed" in feedback.message and "no shard" in feedback.message


def test_ranks_left_running_die_with_the_sandbox(ranks_exercise, tmp_path):
    """A rank that outlives the learner's code is killed with the run's process group."""
    marker = tmp_path / "pids"
    code = f"""
        import multiprocessing, os, time
        ps = [multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,)) for _ in range(2)]
        for p in ps:
            p.start()
        open({str(marker)!r}, "w").write(" ".join(str(p.pid) for p in ps))
    """
    check(ranks_exercise, code)
    pids = [int(p) for p in marker.read_text().split()]
    time.sleep(0.5)
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
