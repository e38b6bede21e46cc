"""SCT for 3.2.3, Resume an interrupted run."""

from graders.sct import SCT, SOLUTION, custom, recorder, right, trainer, wrong


def _spy_on_torch_load(run):
    """Record the map_location of every torch.load the learner's own code calls (Lightning's
    own loads, from its modules, are not the learner's)."""
    import sys

    import torch

    calls = run.records.setdefault("torch_load_calls", [])
    read = run.records.setdefault("checkpoint_entries_read", {})
    original = torch.load

    class Checkpoint(dict):
        """The loaded dict, noting which of the entries that say where the run stopped the code read."""

        def __getitem__(self, key):
            value = super().__getitem__(key)
            if key in _WHERE and isinstance(value, int):
                read[key] = value
            return value

        def get(self, key, default=None):
            return self[key] if key in self else default

    def load(f, *args, **kwargs):
        if sys._getframe(1).f_globals.get("__name__") == "__main__":
            where = kwargs.get("map_location", args[0] if args else None)
            calls.append({"file": str(f).rsplit("/", 1)[-1], "map_location": None if where is None else repr(where)})
            loaded = original(f, *args, **kwargs)
            return Checkpoint(loaded) if type(loaded) is dict else loaded
        return original(f, *args, **kwargs)

    torch.load = load


_WHERE = ("global_step", "epoch")


def _where_printed(run):
    return {"read": dict(run.records.get("checkpoint_entries_read", {})), "stdout": run.stdout}


def _printed_where_it_stopped(got, want, ctx):
    if not got["read"]:
        return (
            "Your code does not read where the run stopped from the checkpoint: its 'global_step' and 'epoch' "
            "entries say it. A number typed in is true of one file only; the code that reads it works for any."
        )
    if not any(str(value) in got["stdout"] for value in got["read"].values()):
        return "Print where the run stopped, the step or the epoch you read from the checkpoint."
    return None


def _loads(run):
    return run.records.get("torch_load_calls", [])


def _loaded_onto_a_device(got, want, ctx):
    reads = [c for c in got if c["file"] == "trained.ckpt"]
    if not reads:
        return (
            "Your code does not read trained.ckpt with torch.load: open the checkpoint yourself to see the step "
            "and epoch it was saved at."
        )
    if all(c["map_location"] is None for c in reads):
        return (
            "torch.load puts every tensor back on the device it was saved from, so a checkpoint written on a GPU "
            "fails to load on a machine without one. Pass map_location to say where the tensors go: the CPU."
        )
    return None


def _resume(run):
    t = run.ns.get("trainer")
    fits = run.records[recorder.KEY].fits_of(t)
    if not fits:
        return {"fitted": False}
    adam = [int(s["step"]) for s in (t.optimizers[0].state.values() if t.optimizers else []) if "step" in s]
    return {
        "fitted": True,
        "global_step": t.global_step,
        "new_steps": fits[-1]["optimizer_steps"],
        "optimizer_steps": max(adam, default=0),
    }


def _resumed(got, want, ctx):
    if not got["fitted"]:
        return "`trainer` has not trained: call its fit method with the model, the loader and the checkpoint."
    started = got["global_step"] - got["new_steps"]
    if got["new_steps"] > 0 and started == 0:
        return (
            f"Your run started at step 0 and took {got['new_steps']} steps: it trained from scratch. "
            "load_from_checkpoint (or a new model) restores the weights only, so fit starts at epoch 0 with a "
            "fresh optimizer. Give the checkpoint to fit itself (its ckpt_path argument): the Trainer then "
            "restores the epoch, the step and the optimizer's state too."
        )
    if got["new_steps"] == 0:
        return (
            f"The resumed run took no new step and stopped at step {got['global_step']}: max_epochs counts "
            "the epochs of the whole run, and the checkpoint already holds one, so max_epochs=1 is reached "
            "before anything trains. Ask for one epoch more than the checkpoint holds."
        )
    if got["optimizer_steps"] != got["global_step"]:
        return (
            f"Adam has taken {got['optimizer_steps']} steps but the run is at step {got['global_step']}: the "
            "optimizer's state was not restored from the checkpoint. Let fit restore it with ckpt_path."
        )
    if got["global_step"] != want["global_step"]:
        return (
            f"Your run ends at step {got['global_step']}; resumed for one more epoch of 8 steps it ends at "
            f"step {want['global_step']}."
        )
    return None


sct = SCT(
    custom(probe=_loads, judge=_loaded_onto_a_device, before=_spy_on_torch_load),
    custom(probe=_where_printed, judge=_printed_where_it_stopped),
    trainer("trainer").fitted(),
    custom(probe=_resume, judge=_resumed, before=recorder.install),
    trainer("trainer").ran(train_batches=SOLUTION, optimizer_steps=SOLUTION),
)

_FIT = 'trainer.fit(LitCNN(), train_loader, ckpt_path="trained.ckpt")'

cases = [
    wrong(
        "prints where the run stopped as numbers typed in",
        replace={'checkpoint["global_step"], "after epoch", checkpoint["epoch"]': '8, "after epoch", 1'},
        says="does not read where the run stopped from the checkpoint",
    ),
    wrong(
        "reads the checkpoint but never says where the run stopped",
        replace={
            'print("saved at step", checkpoint["global_step"], "after epoch", checkpoint["epoch"])': 'stopped = checkpoint["global_step"]'
        },
        says="Print where the run stopped",
    ),
    wrong(
        "asks for two more epochs",
        replace={"max_epochs=2": "max_epochs=3"},
        says="resumed for one more epoch of 8 steps it ends at step 16",
    ),
    right(
        "computes max_epochs from the checkpoint, maps with a function and formats the print",
        replace={
            "max_epochs=2": 'max_epochs=checkpoint["epoch"] + 1',
            'map_location="cpu"': "map_location=lambda storage, loc: storage",
            'print("saved at step", checkpoint["global_step"], "after epoch", checkpoint["epoch"])': 'step, epoch = checkpoint.get("global_step"), checkpoint["epoch"]\nprint(f"stopped at step {step}, epoch {epoch}")',
        },
    ),
    right("stops after a number of steps", replace={"max_epochs=2": "max_steps=16"}),
    wrong(
        "loads the weights with load_from_checkpoint, then fits",
        replace={_FIT: 'trainer.fit(LitCNN.load_from_checkpoint("trained.ckpt"), train_loader)'},
        says="restores the weights only",
    ),
    wrong(
        "starts a new run and never reads the checkpoint",
        replace={_FIT: "trainer.fit(LitCNN(), train_loader)"},
        says="started at step 0",
    ),
    wrong(
        "asks for one epoch, which the checkpoint already holds",
        replace={"max_epochs=2": "max_epochs=1"},
        says="max_epochs counts the epochs of the whole run",
    ),
    wrong(
        "loads the checkpoint onto the device it was saved from",
        replace={'map_location="cpu", ': ""},
        says="Pass map_location",
    ),
    right(
        "maps to a torch.device and relies on the weights_only default",
        replace={'map_location="cpu", weights_only=True': 'map_location=torch.device("cpu")'},
    ),
    right(
        "passes the loader by keyword", replace={"train_loader, ckpt_path": "train_dataloaders=train_loader, ckpt_path"}
    ),
]
