"""SCT for 2.3.1, Fit a model with a Trainer."""
from graders.sct import SCT, SOLUTION, avoids, right, trainer, uses, variable, wrong

sct = SCT(
    avoids(".backward", ".zero_grad", ".step",
           msg="No training loop of your own is needed here: the Trainer calls backward, step and "
               "zero_grad for you. Hand the model and the loaders to trainer.fit instead."),
    variable("trainer").instance_of("pytorch_lightning.Trainer"),
    trainer("trainer").settings(max_epochs=SOLUTION, accelerator="cpu"),
    uses(".fit", msg="Call trainer.fit(model, train_loader, val_loader): creating a Trainer does not train."),
    trainer("trainer").fitted().logged(
        "val_acc", msg="Validation never ran: pass val_loader to fit as well, so the Trainer validates each epoch."),
)

cases = [
    wrong("trains for two epochs", replace={"max_epochs=1": "max_epochs=2"},
          says="wrong `max_epochs` setting"),
    wrong("creates the Trainer but never fits", replace={"trainer.fit(model, train_loader, val_loader)": "model"},
          says="creating a Trainer does not train"),
    wrong("skips validation", replace={"trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, train_loader)"},
          says="pass val_loader to fit"),
    wrong("writes a manual loop instead of using Lightning",
          code="opt = model.configure_optimizers()\nfor x, y in train_loader:\n    opt.zero_grad()\n"
               "    model.training_step((x, y), 0).backward()\n    opt.step()\n",
          says="No training loop of your own is needed"),
    right("passes the loaders by keyword",
          replace={"trainer.fit(model, train_loader, val_loader)":
                   "trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)"}),
]
