# Accuracy over all images, F1 averaged per class
metrics = MetricCollection({
    "acc": MulticlassAccuracy(num_classes=10, average="micro"),
    "f1": MulticlassF1Score(num_classes=10, average="macro"),
})
# Dropout and batch norm switch to inference behaviour
model.eval()
with torch.inference_mode():
    for x, y in test_loader:
        # Add this batch to the running totals
        metrics.update(model(x), y)
# Combine the totals of every batch into the final scores
scores = metrics.compute()
print({name: round(value.item(), 4) for name, value in scores.items()})
