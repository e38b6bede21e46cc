# Load onto the CPU, whatever device saved the file
checkpoint = torch.load("trained.ckpt", map_location="cpu", weights_only=True)
print("saved at step", checkpoint["global_step"], "after epoch", checkpoint["epoch"])
# max_epochs counts the epochs the checkpoint already holds
trainer = pl.Trainer(max_epochs=2, **QUIET)
# Restore weights, optimizer, epoch and step, then go on
trainer.fit(LitCNN(), train_loader, ckpt_path="trained.ckpt")
print("resumed run ends at step", trainer.global_step)
