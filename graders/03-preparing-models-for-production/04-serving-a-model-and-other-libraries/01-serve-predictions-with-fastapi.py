"""SCT for 3.4.1, Serve predictions with FastAPI."""
from graders.sct import SCT, avoids, correct, endpoint, right, uses, variable, wrong

sct = SCT(
    variable("app").instance_of("fastapi.FastAPI"),
    correct(endpoint("app", "/predict", upload="file").predicts(images=4).rejects("text", "empty", "truncated"),
            diagnose=[
                avoids(".softmax", "torch.softmax", "torch.nn.functional.softmax",
                       msg="The exported classifier already ends with softmax: its outputs are probabilities. "
                           "A second softmax squashes them towards 1/10 each, so the reported probability is wrong."),
                uses("course.core.preprocess.to_model_input",
                     msg="Prepare the pixels with to_model_input, the preprocessing the model was trained with: "
                         "scaled to [0, 1] and normalised per channel. Different numbers give different answers."),
            ]),
)

cases = [
    wrong("lets a bad upload crash the app",
          replace={"    try:\n        pixels = decode_image(await file.read())\n    except ImageError as err:\n"
                   '        raise HTTPException(status_code=422, detail=f"not a usable image: {err}")\n':
                   "    pixels = decode_image(await file.read())\n"},
          says="answered 500, a server error"),
    wrong("answers bad input with a 500", replace={"status_code=422": "status_code=500"}, says="a server error"),
    wrong("applies softmax again", replace={"probs = classifier(torch.from_numpy(to_model_input(pixels)))[0]":
                                            "probs = classifier(torch.from_numpy(to_model_input(pixels))).softmax(dim=1)[0]"},
          says="already ends with softmax"),
    wrong("scales the pixels without normalising them",
          replace={"torch.from_numpy(to_model_input(pixels))":
                   "torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255"},
          says="Prepare the pixels with to_model_input"),
    wrong("answers with the class index", replace={'"label": CLASSES[int(probs.argmax())]': '"label": int(probs.argmax())'},
          says="should be a str"),
    right("answers 400 from a plain function",
          replace={"async def predict(file: UploadFile):": "def predict(file: UploadFile):",
                   "await file.read()": "file.file.read()", "status_code=422": "status_code=400"}),
]
