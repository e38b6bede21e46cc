# A checkpoint is a dict: weights sit under "state_dict"
checkpoint = torch.load("trained.ckpt", weights_only=True)
# LitCNN keeps the network in self.net: drop the prefix
state = {k.removeprefix(____): v for k, v in checkpoint[____].items()}
net = SmallCNN()
net.____(state)
net.____()
with torch.inference_mode():
    probs = net(images).softmax(dim=1)
print(probs.argmax(dim=1), probs.max(dim=1).values)
