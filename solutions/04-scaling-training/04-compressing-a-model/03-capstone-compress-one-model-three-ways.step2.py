# Shape inference first: the quantizer relies on it
quant_pre_process("model.onnx", "model-pre.onnx")
# int8 weights for the matrix products only
quantize_dynamic("model-pre.onnx", "model-int8.onnx", weight_type=QuantType.QInt8,
                 op_types_to_quantize=["MatMul", "Gemm"])
session = ort_session("model-int8.onnx")


def ort_predict(images):
    return session.run(None, {"images": images.numpy()})[0]


ort_row = measure("onnxruntime int8", ort_predict, "model-int8.onnx")
print(baseline, ort_baseline, ort_row, sep="\n")
