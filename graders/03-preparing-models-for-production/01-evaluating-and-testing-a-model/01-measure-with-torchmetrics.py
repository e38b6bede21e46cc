"""SCT for 3.1.1, Measure a model with torchmetrics."""

from graders.sct import SCT, inference_model, metric, right, variable, wrong
from graders.sct.observed import predicted

sct = SCT(
    metric("metrics['acc']")
    .kind("MulticlassAccuracy")
    .settings(
        average="micro",
        msg='Plain accuracy counts every image once: average="micro". MulticlassAccuracy '
        'averages the accuracies of the ten classes by default ("macro"), which is a '
        "different number. Expected {expected}, got {got}.",
    ),
    metric("metrics['f1']")
    .kind("MulticlassF1Score")
    .settings(
        average="macro",
        msg='Keep F1 averaged per class, average="macro", so that every class counts the '
        "same. Expected {expected}, got {got}.",
    ),
    inference_model("model").in_eval_mode(
        msg="`model` is still in training mode, so dropout zeroes activations at random and batch norm uses each "
        "test batch's own statistics: the scores would measure a different model. Call model.eval() first."
    ),
    predicted(
        "model",
        grad=False,
        eval_mode=True,
        images="only",
        grad_msg="`model` predicted while autograd recorded every operation for a backward pass that never comes: "
        "measuring needs no gradients. Run the loop inside torch.inference_mode() (or torch.no_grad()).",
        training_msg="`model` predicted in training mode and was switched to evaluation mode only afterwards: the "
        "scores measure the model with dropout on and batch norm using each batch's statistics. Switch the mode "
        "before the loop.",
        other_images_msg="`model` also predicted on {got} that are not test images: the scores must measure the test "
        "split, `test_loader`, and nothing else.",
    ),
    metric("metrics['acc']").updates(
        msg="The metrics hold {got} when the loop ends, not {expected}, one per test batch: call update inside the "
        "loop, for every batch, and compute() once after it. reset() empties the running totals, so it belongs "
        "before a new measurement, never between batches."
    ),
    variable("scores").equals(
        atol=1e-6,
        rtol=0,
        msg="`scores` should combine every test batch: call metrics.compute() once after the "
        "loop. Calling a metric on a batch returns that batch's value only.",
    ),
)

cases = [
    wrong(
        "keeps the per-class default for accuracy",
        replace={'average="micro"': 'average="macro"'},
        says="Plain accuracy counts every image once",
    ),
    wrong(
        "averages F1 over all images as well",
        replace={'average="macro"': 'average="micro"'},
        says="Keep F1 averaged per class",
    ),
    wrong("evaluates in training mode", replace={"model.eval()\n": ""}, says="still in training mode"),
    wrong(
        "updates once, after the loop",
        replace={"        metrics.update(model(x), y)": "        pass\n    metrics.update(model(x), y)"},
        says="call update inside the loop",
    ),
    wrong(
        "resets the totals after every batch",
        replace={"        metrics.update(model(x), y)": "        metrics.update(model(x), y)\n        metrics.reset()"},
        says="reset() empties the running totals",
    ),
    wrong(
        "resets the totals before every batch",
        replace={"        metrics.update(model(x), y)": "        metrics.reset()\n        metrics.update(model(x), y)"},
        says="hold 1 updates when the loop ends, not 4 updates",
    ),
    wrong(
        "keeps the last batch's scores only",
        replace={
            "        metrics.update(model(x), y)": "        batch_scores = metrics(model(x), y)",
            "scores = metrics.compute()": "scores = batch_scores",
        },
        says="should combine every test batch",
    ),
    wrong(
        "predicts while tracking gradients",
        replace={
            "with torch.inference_mode():\n    for x, y in test_loader:": "if True:\n    for x, y in test_loader:"
        },
        says="measuring needs no gradients",
    ),
    wrong(
        "switches to evaluation mode after the loop",
        replace={"model.eval()\n": "", "scores = metrics.compute()": "model.eval()\nscores = metrics.compute()"},
        says="switched to evaluation mode only afterwards",
    ),
    wrong("measures on the training split", replace={"in test_loader": "in train_loader"}, says="not test images"),
    wrong(
        "measures the first batch only",
        replace={"        metrics.update(model(x), y)": "        metrics.update(model(x), y)\n        break"},
        says="hold 1 updates when the loop ends, not 4 updates",
    ),
    right(
        "collects the scores from each metric, with no_grad and train(False)",
        replace={
            "scores = metrics.compute()": "scores = {'acc': metrics['acc'].compute(), 'f1': metrics['f1'].compute()}",
            "torch.inference_mode()": "torch.no_grad()",
            "model.eval()": "model.train(False)",
        },
    ),
    right(
        "uses Accuracy with task= and passes probabilities",
        replace={
            'MulticlassAccuracy(num_classes=10, average="micro")': 'Accuracy(task="multiclass", num_classes=10, average="micro")',
            "metrics.update(model(x), y)": "metrics.update(model(x).softmax(dim=1), y)",
        },
    ),
]
