"""SCT for 4.1.2, Compare runs from the store."""
from graders.sct import SCT, expression, right, uses, variable, wrong

sct = SCT(
    uses(".search_runs", msg="Ask the store: client.search_runs([experiment.experiment_id], order_by=[...])."),
    expression("len(runs)").equals(msg="`runs` should hold the three runs of the sweep ({got})."),
    variable("best_lr").instance_of(float, msg=(
        "best_lr should be a number: MLflow returns parameters as strings, so convert with float(...).")).equals(
        msg="best_lr is the learning rate of another run: order the runs by \"metrics.val_acc DESC\", so the run "
            "with the highest validation accuracy comes first (expected {expected}, got {got})."),
)

cases = [
    wrong("orders from the lowest accuracy", replace={"metrics.val_acc DESC": "metrics.val_acc ASC"},
          says="highest validation accuracy comes first"),
    wrong("orders by the loss, highest first", replace={"metrics.val_acc DESC": "metrics.val_loss DESC"},
          says="highest validation accuracy comes first"),
    wrong("keeps the parameter as text", replace={'float(best.data.params["lr"])': 'best.data.params["lr"]'},
          says="MLflow returns parameters as strings"),
    right("picks the maximum in Python",
          replace={"best = runs[0]": 'best = max(runs, key=lambda run: run.data.metrics["val_acc"])'}),
]
