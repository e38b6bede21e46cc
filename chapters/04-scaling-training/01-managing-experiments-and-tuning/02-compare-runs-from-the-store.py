client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
experiment = client.get_experiment_by_name(____)
# The run with the highest validation accuracy first
runs = client.search_runs([experiment.experiment_id], order_by=[____])
best = runs[0]
# Parameters come back as strings
best_lr = ____(best.data.params["lr"])
print(f"best lr {best_lr}: val_acc {best.data.metrics['val_acc']:.3f} of {len(runs)} runs")
