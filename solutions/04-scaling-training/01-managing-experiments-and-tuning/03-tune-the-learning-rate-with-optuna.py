def objective(trial):
    # Learning rates matter by their order of magnitude
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(max_epochs=1, logger=False, **QUIET_RUN)
    trainer.fit(CIFARClassifier(lr=lr), train_loader, val_loader)
    return trainer.callback_metrics["val_acc"].item()

# Higher accuracy is better; a seeded sampler repeats
sampler = optuna.samplers.TPESampler(seed=0)
study = optuna.create_study(direction="maximize", sampler=sampler)
study.optimize(objective, n_trials=3)
print(study.best_params, study.best_value)
