"""SCT for 4.3.2, Accumulate gradients."""
from graders.sct import SCT, SOLUTION, printed, right, trainer, training_record, wrong

sct = SCT(
    training_record().batches(msg=(
        "Keep the batches of 32: the point of accumulating is that only 32 images fit in memory at once, so the "
        "loader stays small_loader and the Trainer adds up its batches ({got}).")).optimizer_steps(),
    trainer("trainer").settings(accumulate_grad_batches=SOLUTION, msg=(
        "accumulate_grad_batches counts batches, not images: 128 images are 128 // 32 = 4 batches of "
        "small_loader ({got}).")).fitted(),
    printed(msg="Print trainer.global_step, the number of optimizer steps, as in the last line of the sample."),
)

cases = [
    wrong("does not accumulate", replace={"accumulate_grad_batches=accumulate": "accumulate_grad_batches=1"},
          says="one step per batch"),
    wrong("counts images instead of batches", replace={"accumulate_grad_batches=accumulate":
                                                       "accumulate_grad_batches=target_batch"},
          says="counts batches, not images"),
    wrong("loads batches of 128 instead",
          replace={"trainer.fit(model, small_loader)":
                   "trainer.fit(model, torch.utils.data.DataLoader(small_loader.dataset, batch_size=target_batch))"},
          says="Keep the batches of 32"),
    wrong("prints the epoch instead of the steps", replace={"trainer.global_step": "trainer.current_epoch"},
          says="Print trainer.global_step"),
    right("writes the number of batches directly", replace={"accumulate = target_batch // small_loader.batch_size":
                                                            "accumulate = 4"}),
]
