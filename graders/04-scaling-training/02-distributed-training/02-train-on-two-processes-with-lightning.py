"""SCT for 4.2.2, Train on two processes with Lightning."""
from graders.sct import SCT, SOLUTION, expression, ranks, right, trainer, wrong

sct = SCT(
    trainer("trainer").settings(num_devices=SOLUTION, accelerator="cpu", msg=(
        "Train on two CPU processes: accelerator=\"cpu\" and devices=2 ({got}).")),
    ranks(folder="ranks").processes(2, msg=(
        "No second process trained. A Trainer that is created but never fitted trains nothing: call "
        "trainer.fit(model, train_loader), and ask for devices=2.")).own_shards(msg=(
            "Both processes trained on the same images: Lightning gives each its shard only when it may replace "
            "the loader's sampler with a DistributedSampler; leave use_distributed_sampler at its default, True."
        )).agree("state_dict", atol=1e-5),
    trainer("trainer").fitted(),
    expression("model.hparams.lr").equals(msg=(
        "Scale the learning rate with the number of processes: two processes make each step average twice as "
        "many images, so the linear scaling rule, which holds for SGD as here, gives BASE_LR * devices "
        "(expected {expected}, got {got}).")),
    errors={r"not compatible with an interactive environment": (
        "strategy=\"ddp\" starts each process by running your script again from the top, which a notebook "
        "cannot do. In Jupyter use strategy=\"ddp_notebook\", which forks the running kernel instead.")},
)

cases = [
    wrong("uses the script strategy in a notebook", replace={'strategy="ddp_notebook"': 'strategy="ddp"'},
          says="which a notebook cannot do"),
    wrong("builds the Trainer but never fits", replace={"trainer.fit(model, train_loader)": "print(trainer)"},
          says="never fitted trains nothing"),
    wrong("keeps the single-process learning rate",
          replace={"CIFARClassifier(lr=BASE_LR * devices)": "CIFARClassifier(lr=BASE_LR)"},
          says="Scale the learning rate"),
    wrong("turns off the distributed sampler", replace={"**QUIET)": "use_distributed_sampler=False, **QUIET)"},
          says="Both processes trained on the same images"),
    wrong("trains on one device", replace={"devices = 2": "devices = 1"}, says="devices=2"),
    right("uses ddp_fork, the same strategy under its other name",
          replace={'strategy="ddp_notebook"': 'strategy="ddp_fork"'}),
]
