def train_step(rank, world_size):
    # Join the group of processes
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    # Take this rank's own shard of the data
    sampler = ____(dataset, num_replicas=world_size, rank=rank, shuffle=False)
    x, y = dataset[list(sampler)]
    F.cross_entropy(model(x.flatten(1)), y).backward()
    # Sum the gradients over the ranks, then average them
    for p in model.parameters():
        dist.____(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= ____
    return {"rank": rank, "images": list(sampler), "grads": [p.grad for p in model.parameters()]}

results = run_ranks(train_step, world_size=2)
print([r["grads"][1][:3] for r in results])
