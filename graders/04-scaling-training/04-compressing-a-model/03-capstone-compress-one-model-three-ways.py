"""SCT for 4.4.3, Capstone: compress one model three ways (iterative: every step starts
from the same trained model)."""

from graders.sct import SCT, avoids, compressed, custom, exported_file, ort_session, right, wrong


def _quantized_layers(run):
    from torch import nn

    quantized = run.ns.get("int8_model")
    if not isinstance(quantized, nn.Module):
        return None
    return {
        name: {
            "weight": type(m.weight).__name__,
            "activations": getattr(m.weight, "act_quant_kwargs", None) is not None,
        }
        for name, m in quantized.named_modules()
        if isinstance(m, nn.Linear)
    }


def _weight_only_right(got, want, ctx):
    if not got or not want:
        return None
    for name, layer in got.items():
        if layer["activations"] and not want.get(name, {}).get("activations"):
            return (
                f"Layer {name} quantizes its inputs too, at every call: that is dynamic activation "
                "quantization, another method than the weight-only int8 the exercise names. Use "
                "Int8WeightOnlyConfig(), which stores int8 weights and computes with float inputs."
            )
        if layer["weight"] != want.get(name, {}).get("weight"):
            return (
                f"Layer {name} keeps weights of type {layer['weight']}: it was not quantized to int8 with "
                "Int8WeightOnlyConfig()."
            )
    return None


def _predicts_with(run):
    import torch

    from graders.sct.api import cifar_batch

    predict, bf16, original = (run.ns.get(k) for k in ("bf16_predict", "bf16_model", "model"))
    if not callable(predict) or not all(isinstance(m, torch.nn.Module) for m in (bf16, original)):
        return None
    ran = set()
    hooks = [
        m.register_forward_hook(lambda *_, who=who: ran.add(who))
        for who, m in (("bf16_model", bf16), ("model", original))
    ]
    try:
        with torch.no_grad():
            predict(cifar_batch(4)[0])
    except Exception:
        return None  # the agreement check reports the error
    finally:
        for hook in hooks:
            hook.remove()
    return sorted(ran)


def _predicts_with_bf16(got, want, ctx):
    if got is not None and "bf16_model" not in got:
        return (
            "bf16_predict does not call bf16_model"
            + (", it predicts with the original `model`" if "model" in got else "")
            + ": the row would measure the float32 model under a bfloat16 name. Predict with "
            "bf16_model, on images cast to bfloat16."
        )
    return None


step1 = SCT(
    avoids(
        "torch.ao.quantization.*",
        "torch.quantization.*",
        msg=(
            "torch.ao.quantization is deprecated, and its warning points to torchao: use "
            "quantize_(int8_model, Int8WeightOnlyConfig())."
        ),
    ),
    custom(probe=_quantized_layers, judge=_weight_only_right),
    compressed("int8.pt", model="int8_model").original_unchanged().size(at_most=0.6).agreement(0.97),
    errors={
        r"'functools.partial' object has no attribute '__name__'": (
            "torch.save(int8_model) pickles the whole module, and torchao's quantized layers hold functions that "
            "pickle cannot store. Save the weights, int8_model.state_dict(), as for any model."
        )
    },
)

step2 = SCT(
    ort_session("session").opens(
        "model-int8.onnx",
        msg=(
            "The session runs {got}, not the quantized model: open the session on the quantized file, "
            'ort_session("model-int8.onnx").'
        ),
    ),
    exported_file("model-int8.onnx")
    .ops(
        lacks=("ConvInteger",),
        msg=(
            "The convolutions were quantized too (ConvInteger): ONNX Runtime has no fast int8 convolution on a CPU, "
            "which made a batch-1 call 8 times slower here. Quantize only the matrix products: "
            'op_types_to_quantize=["MatMul", "Gemm"].'
        ),
    )
    .ops(
        has=("MatMulInteger",),
        msg=("model-int8.onnx has no int8 matrix product (MatMulInteger): quantize the MatMul and Gemm nodes."),
    ),
    compressed("model-int8.onnx", model="ort_predict")
    .size(
        at_most=0.6,
        msg=(
            "model-int8.onnx is no smaller than model.onnx ({got} of it): open the session on the quantized file, "
            "and quantize the pre-processed model into model-int8.onnx."
        ),
    )
    .agreement(0.97),
    errors={
        r"ShapeInferenceError": (
            'The quantizer failed on shapes it could not infer: run quant_pre_process("model.onnx", '
            '"model-pre.onnx") first, and quantize the pre-processed file.'
        )
    },
)

step3 = SCT(
    compressed("bf16.pt", model="bf16_predict")
    .original_unchanged()
    .stored_as(
        "bfloat16",
        msg=(
            "The weights are stored as {got}, not bfloat16: a CPU has no fast float16 arithmetic (512 images took "
            "2 s in float16 here, 0.1 s in bfloat16), and bfloat16 keeps float32's range."
        ),
    )
    .size(at_most=0.55)
    .agreement(0.97),
    custom(probe=_predicts_with, judge=_predicts_with_bf16),
    errors={
        r"should be the same|expected .*BFloat16|mat1 and mat2 must have the same dtype": (
            "The bfloat16 layers got float32 inputs: cast the images with images.to(torch.bfloat16) before calling "
            "bf16_model."
        )
    },
)

steps = [step1, step2, step3]

cases = [
    # step 1
    wrong(
        "saves the original model's weights",
        step=1,
        replace={'torch.save(int8_model.state_dict(), "int8.pt")': 'torch.save(model.state_dict(), "int8.pt")'},
        says="Did you save the compressed model",
    ),
    wrong(
        "quantizes the original in place",
        step=1,
        replace={"int8_model = copy.deepcopy(model)": "int8_model = model"},
        says="compress a copy",
    ),
    wrong(
        "uses the deprecated quantization API",
        step=1,
        replace={
            "quantize_(int8_model, Int8WeightOnlyConfig())": "int8_model = torch.ao.quantization.quantize_dynamic(int8_model, {nn.Linear}, dtype=torch.qint8)"
        },
        says="deprecated",
    ),
    wrong(
        "quantizes activations dynamically as well",
        step=1,
        code="from torchao.quantization import Int8DynamicActivationInt8WeightConfig\n"
        "int8_model = copy.deepcopy(model)\nquantize_(int8_model, Int8DynamicActivationInt8WeightConfig())\n"
        'torch.save(int8_model.state_dict(), "int8.pt")\n'
        'int8_row = measure("torchao int8", int8_model, "int8.pt")\n',
        says="another method than the weight-only int8",
    ),
    wrong(
        "saves the whole quantized module",
        step=1,
        replace={'torch.save(int8_model.state_dict(), "int8.pt")': 'torch.save(int8_model, "int8.pt")'},
        says="pickle cannot store",
    ),
    right(
        "quantizes only the linear layers with an explicit filter",
        step=1,
        replace={
            "quantize_(int8_model, Int8WeightOnlyConfig())": "quantize_(int8_model, Int8WeightOnlyConfig(), filter_fn=lambda m, fqn: isinstance(m, nn.Linear))"
        },
    ),
    # step 2
    wrong(
        "quantizes the raw export",
        step=2,
        replace={
            'quant_pre_process("model.onnx", "model-pre.onnx")\n': "",
            'quantize_dynamic("model-pre.onnx"': 'quantize_dynamic("model.onnx"',
        },
        says="run quant_pre_process",
    ),
    wrong(
        "quantizes the convolutions too",
        step=2,
        replace={',\n                 op_types_to_quantize=["MatMul", "Gemm"])': ")"},
        says="ConvInteger",
    ),
    wrong(
        "opens the session on the float model",
        step=2,
        replace={'session = ort_session("model-int8.onnx")': 'session = ort_session("model.onnx")'},
        says="open the session on the quantized file",
    ),
    right(
        "quantizes the weights as unsigned int8",
        step=2,
        replace={"weight_type=QuantType.QInt8": "weight_type=QuantType.QUInt8"},
    ),
    # step 3
    wrong(
        "casts to float16 on a CPU",
        step=3,
        replace={
            "copy.deepcopy(model).to(torch.bfloat16)": "copy.deepcopy(model).half()",
            "images.to(torch.bfloat16)": "images.half()",
        },
        says="no fast float16",
    ),
    wrong(
        "forgets to cast the inputs",
        step=3,
        replace={"bf16_model(images.to(torch.bfloat16))": "bf16_model(images)"},
        says="got float32 inputs",
    ),
    wrong(
        "casts the original in place",
        step=3,
        replace={"bf16_model = copy.deepcopy(model).to(torch.bfloat16)": "bf16_model = model.to(torch.bfloat16)"},
        says="compress a copy",
    ),
    wrong(
        "predicts with the original model",
        step=3,
        replace={"return bf16_model(images.to(torch.bfloat16))": "return model(images)"},
        says="it predicts with the original `model`",
    ),
    right(
        "casts with the bfloat16 method",
        step=3,
        replace={"copy.deepcopy(model).to(torch.bfloat16)": "copy.deepcopy(model).bfloat16()"},
    ),
]
