# Two processes: scale the learning rate with the batch
devices = 2
model = CIFARClassifier(lr=BASE_LR * ____)
# A strategy that forks, so it also runs in a notebook
trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=____,
                     strategy=____, **QUIET)
trainer.____(model, train_loader)
# What each process saw, and its final weights
import glob
records = [torch.load(path) for path in sorted(glob.glob("ranks/*.pt"))]
weights = [torch.cat([t.flatten() for t in r["state_dict"].values()]) for r in records]
print([len(r["images"]) for r in records], [(w - weights[0]).abs().max().item() for w in weights])
