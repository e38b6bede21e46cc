model.____()
# A batch of 2: torch.export treats a size of 1 as fixed
example = (images[:____],)
exported = torch.export.export(model, example, dynamic_shapes={"x": {0: ____}})
torch.export.____(exported, "model.pt2")
# Load it back as a server would, and run five images
loaded = torch.export.load("model.pt2").module()
print(loaded(images[:5]).argmax(dim=1))
