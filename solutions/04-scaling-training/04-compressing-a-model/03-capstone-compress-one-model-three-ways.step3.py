# bfloat16 weights: half the bytes, float32's range
bf16_model = copy.deepcopy(model).to(torch.bfloat16)
torch.save(bf16_model.state_dict(), "bf16.pt")


def bf16_predict(images):
    # The inputs must have the weights' dtype
    return bf16_model(images.to(torch.bfloat16))


bf16_row = measure("bf16", bf16_predict, "bf16.pt")
print(baseline, bf16_row, sep="\n")
