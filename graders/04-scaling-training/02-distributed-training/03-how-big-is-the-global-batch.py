"""SCT for 4.2.3, How big is the global batch?"""
from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(multiple_choice({
    1: "The processes do not read the same images: a DistributedSampler gives each its own shard, so one step "
       "covers 8 x 64 = 512 different images, and the averaged gradient is that of a batch of 512.",
    3: "batch_size is per process, not split among them: each of the eight processes reads 64 images per step, "
       "so the global batch is 512, not 8.",
    4: "Averaging gradients gives the gradient of one large batch, and a step of that gradient still has the "
       "size the learning rate sets; a larger batch has less noise, so it usually needs a larger learning rate.",
}))

cases = [
    wrong("thinks every process reads the same batch", replace={"answer = 2": "answer = 1"}, says="own shard"),
    wrong("thinks the batch is split among the GPUs", replace={"answer = 2": "answer = 3"},
          says="batch_size is per process"),
    wrong("thinks averaging cancels the learning rate", replace={"answer = 2": "answer = 4"},
          says="usually needs a larger learning rate"),
    right("writes the number with a comment", replace={"answer = 2": "answer = 2  # 8 x 64 = 512"}),
]
