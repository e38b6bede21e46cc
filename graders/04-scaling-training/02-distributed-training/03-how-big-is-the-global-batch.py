"""SCT for 4.2.3, How big is the global batch?"""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            1: "Splitting one batch among the GPUs is what the old nn.DataParallel did. Under DDP, batch_size is per "
            "process: each of the eight reads 64 images of its own, so one step covers 8 x 64 = 512 images.",
            2: "Averaging keeps each gradient about the same size, but it is now the gradient of 512 images, less noisy, "
            "and an epoch has 8 times fewer steps: at 0.05 an epoch moves the weights far less. For SGD the linear "
            "scaling rule multiplies the learning rate by 8, with a warm-up.",
            3: "Lightning gives each DDP process a DistributedSampler, so each reads its own shard: one step covers "
            "8 x 64 = 512 different images. The same 64 images on every GPU would be eight times the work for one "
            "batch's gradient.",
        }
    )
)

cases = [
    wrong(
        "thinks DDP splits the batch among the GPUs",
        replace={"answer = 4": "answer = 1"},
        says="batch_size is per process",
    ),
    wrong(
        "thinks averaging makes the learning rate independent of the batch",
        replace={"answer = 4": "answer = 2"},
        says="linear scaling rule",
    ),
    wrong("thinks every process reads the same batch", replace={"answer = 4": "answer = 3"}, says="own shard"),
    right("writes the number with a comment", replace={"answer = 4": "answer = 4  # 8 x 64 = 512"}),
]
