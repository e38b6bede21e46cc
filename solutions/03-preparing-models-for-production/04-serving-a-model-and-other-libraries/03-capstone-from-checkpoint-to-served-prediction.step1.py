# The plain network from the checkpoint, for inference
net = LitCNN.load_from_checkpoint("trained.ckpt").net
net.eval()
accuracy = MulticlassAccuracy(num_classes=10, average="micro")
with torch.inference_mode():
    for x, y in test_loader:
        accuracy.update(net(x), y)
print(f"test accuracy: {accuracy.compute():.3f}")
