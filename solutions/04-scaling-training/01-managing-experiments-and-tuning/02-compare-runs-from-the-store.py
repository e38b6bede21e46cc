client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
experiment = client.get_experiment_by_name("lr-sweep")
# The run with the highest validation accuracy first
runs = client.search_runs([experiment.experiment_id], order_by=["metrics.val_acc DESC"])
best = runs[0]
# Parameters come back as strings
best_lr = float(best.data.params["lr"])
print(f"best lr {best_lr}: val_acc {best.data.metrics['val_acc']:.3f} of {len(runs)} runs")
