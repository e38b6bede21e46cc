# Quantize a copy: model stays the fp32 reference
int8_model = copy.____(model)
# int8 weights in every linear layer
quantize_(int8_model, ____())
torch.save(____.state_dict(), "int8.pt")
int8_row = measure("torchao int8", int8_model, "int8.pt")
print(baseline, int8_row, sep="\n")
