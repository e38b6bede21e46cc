# The plain network from the checkpoint, for inference
net = LitCNN.load_from_checkpoint("trained.ckpt").net
net.____()
accuracy = MulticlassAccuracy(num_classes=10, average=____)
with torch.inference_mode():
    for x, y in test_loader:
        accuracy.____(net(x), y)
print(f"test accuracy: {accuracy.compute():.3f}")
