"""SCT for 4.2.2, Train on two processes with Lightning."""

import ast

from graders.sct import SCT, SOLUTION, Fail, custom, expression, ranks, right, trainer, wrong
from graders.sct.process_group import process_group


def _scales_by_a_typed_in_count(got, want, ctx):
    """BASE_LR multiplied by a number typed in instead of the number of processes."""
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            names = {ast.unparse(node.left), ast.unparse(node.right)}
            constants = [n for n in (node.left, node.right) if isinstance(n, ast.Constant)]
            if "BASE_LR" in names and constants and isinstance(constants[0].value, (int, float)):
                return Fail(
                    f"Your code multiplies BASE_LR by {constants[0].value!r}, a process count typed in: on 8 devices "
                    "the same code would scale wrongly. Scale by the number of processes, the variable the Trainer "
                    "takes its devices from.",
                    line=node.lineno,
                )
    return None


sct = SCT(
    custom(judge=_scales_by_a_typed_in_count),
    process_group().untouched(),
    trainer("trainer").settings(
        num_devices=SOLUTION,
        accelerator="cpu",
        msg=('Train on two CPU processes: accelerator="cpu" and devices=2 ({got}).'),
    ),
    process_group()
    .joined(
        2,
        msg=(
            "No second process trained with the first. A Trainer that is created but never fitted trains nothing: call "
            "trainer.fit(model, train_loader), and ask for devices=2, so that two processes join the group."
        ),
    )
    .rank_files("ranks"),
    ranks(folder="ranks")
    .processes(
        2,
        msg=(
            "No second process trained. A Trainer that is created but never fitted trains nothing: call "
            "trainer.fit(model, train_loader), and ask for devices=2."
        ),
    )
    .own_shards(
        msg=(
            "Both processes trained on the same images: Lightning gives each its shard only when it may replace "
            "the loader's sampler with a DistributedSampler; leave use_distributed_sampler at its default, True."
        )
    )
    .agree("state_dict", atol=1e-5),
    trainer("trainer").fitted(),
    expression("model.hparams.lr").equals(
        msg=(
            "Scale the learning rate with the number of processes: two processes make each step average twice as "
            "many images, so the linear scaling rule, which holds for SGD as here, gives BASE_LR * devices "
            "(expected {expected}, got {got})."
        )
    ),
    errors={
        r"strategy='ddp_spawn'\)` is not compatible with an interactive environment": (
            '"ddp_spawn" starts fresh interpreters, which must import your code from a file, so a notebook\'s '
            'classes cannot reach them. In Jupyter use strategy="ddp_notebook", which forks the running kernel '
            "instead."
        ),
        r"not compatible with an interactive environment": (
            'strategy="ddp" starts each process by running your script again from the top, which a notebook '
            'cannot do. In Jupyter use strategy="ddp_notebook", which forks the running kernel instead.'
        ),
    },
)

cases = [
    wrong(
        "scales the learning rate by a process count typed in",
        replace={"lr=BASE_LR * devices": "lr=BASE_LR * 2"},
        says="a process count typed in",
    ),
    wrong(
        "uses the spawning strategy",
        replace={'strategy="ddp_notebook"': 'strategy="ddp_spawn"'},
        says='"ddp_spawn" starts fresh interpreters, which must import your code from a file',
    ),
    right(
        "gives a DDP strategy that forks, as an object",
        replace={
            'strategy="ddp_notebook"': 'strategy=DDPStrategy(start_method="fork")',
            "devices = 2": "from pytorch_lightning.strategies import DDPStrategy\ndevices = 2",
        },
    ),
    wrong(
        "uses the script strategy in a notebook",
        replace={'strategy="ddp_notebook"': 'strategy="ddp"'},
        says="which a notebook cannot do",
    ),
    wrong(
        "builds the Trainer but never fits",
        replace={"trainer.fit(model, train_loader)": "print(trainer)"},
        says="never fitted trains nothing",
    ),
    wrong(
        "keeps the single-process learning rate",
        replace={"CIFARClassifier(lr=BASE_LR * devices)": "CIFARClassifier(lr=BASE_LR)"},
        says="Scale the learning rate",
    ),
    wrong(
        "turns off the distributed sampler",
        replace={"**QUIET)": "use_distributed_sampler=False, **QUIET)"},
        says="Both processes trained on the same images",
    ),
    wrong("trains on one device", replace={"devices = 2": "devices = 1"}, says="devices=2"),
    wrong(
        "validates instead of training",
        replace={"trainer.fit(model, train_loader)": "trainer.validate(model, train_loader)"},
        says="trainer.validate runs validation_step",
    ),
    wrong(
        "rewrites rank 1's record after training",
        replace={
            "trainer.fit(model, train_loader)": "trainer.fit(model, train_loader)\nimport shutil\nrecord = torch.load('ranks/rank-0.pt')\n"
            "record['rank'] = 1\nrecord['images'] = record['images'][::-1]\n"
            "torch.save(record, 'ranks/rank-1.pt')"
        },
        says="was not written by a process of the training run",
    ),
    wrong(
        "edits a rank file's bytes after training",
        replace={
            "trainer.fit(model, train_loader)": "trainer.fit(model, train_loader)\nwith open('ranks/rank-1.pt', 'ab') as f:\n    f.write(b'x')"
        },
        says="changed after its rank wrote it",
    ),
    wrong(
        "trains on one device after patching the recorder and the Trainer",
        replace={
            "devices = 2": "devices = 1",
            "trainer.fit(model, train_loader)": "import course.core.distributed as cd\n"
            "_end = cd.RankRecorder.on_train_end\n"
            "def on_train_end(self):\n"
            "    _end(self)\n"
            "    r = torch.load('ranks/rank-0.pt')\n"
            "    n = len(r['images']) // 2\n"
            "    torch.save({**r, 'images': r['images'][:n]}, 'ranks/rank-0.pt')\n"
            "    torch.save({**r, 'rank': 1, 'images': r['images'][n:]}, 'ranks/rank-1.pt')\n"
            "cd.RankRecorder.on_train_end = on_train_end\n"
            "pl.Trainer.num_devices = property(lambda self: 2)\n"
            "trainer.fit(model, train_loader)",
        },
        says="Your code changed what records the run",
    ),
    right(
        "uses ddp_fork, the same strategy under its other name",
        replace={'strategy="ddp_notebook"': 'strategy="ddp_fork"'},
    ),
]
