# Two processes: scale the learning rate with the batch
devices = 2
model = CIFARClassifier(lr=BASE_LR * devices)
# A strategy that forks, so it also runs in a notebook
trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=devices,
                     strategy="ddp_notebook", **QUIET)
trainer.fit(model, train_loader)
