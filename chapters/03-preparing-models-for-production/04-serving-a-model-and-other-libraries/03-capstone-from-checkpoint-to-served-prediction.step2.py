# Export from a batch of 2 with a dynamic batch dimension
x = next(iter(test_loader))[0]
torch.onnx.export(net, (x[:____],), "cifar_cnn.onnx", dynamic_shapes={"x": {0: ____}},
                  external_data=False, verbose=False)
session = onnx_session("cifar_cnn.onnx")
# The file must reproduce the model on a full batch
onnx_out = session.run(None, {"x": x.____()})[0]
with torch.inference_mode():
    max_diff = float(np.abs(onnx_out - net(x).numpy()).max())
print(f"largest difference: {max_diff:.1e}")
