# The same seed gives the same weights and batches
pl.____(0)
model = CIFARClassifier(lr=1e-3)
# Log to the local SQLite store, never to ./mlruns
mlf_logger = MLFlowLogger(experiment_name="cifar", tracking_uri=____)
trainer = pl.Trainer(max_epochs=1, logger=____, **QUIET_RUN)
trainer.fit(model, train_loader, val_loader)
print("run", mlf_logger.run_id, trainer.callback_metrics)
