# Load onto the CPU, whatever device saved the file
checkpoint = torch.load("trained.ckpt", map_location=____, weights_only=True)
print("saved at step", checkpoint["global_step"], "after epoch", checkpoint["epoch"])
# max_epochs counts the epochs the checkpoint already holds
trainer = pl.Trainer(max_epochs=____, **QUIET)
# Restore weights, optimizer, epoch and step, then go on
trainer.fit(LitCNN(), train_loader, ____="trained.ckpt")
print("resumed run ends at step", trainer.global_step)
