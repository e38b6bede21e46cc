model.eval()
torch.onnx.export(model, (images[:2],), "model.onnx", dynamic_shapes={"x": {0: Dim("batch")}},
                  external_data=False, verbose=False)
# One thread, no spinning: leave the CPU to PyTorch
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.add_session_config_entry("session.intra_op.allow_spinning", "0")
session = ort.InferenceSession("model.onnx", options, providers=["CPUExecutionProvider"])
# ONNX Runtime takes NumPy arrays, by input name
logits = session.run(None, {"x": images.numpy()})[0]
print(logits.argmax(axis=1))
