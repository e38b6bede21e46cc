"""SCT for 3.4.1, Serve predictions with FastAPI."""

import ast

from graders.sct import SCT, Fail, avoids, correct, custom, endpoint, right, uses, variable, wrong

BLOCKING = (
    "`{name}` is an `async def`, so it runs on the server's one event loop, and the model call inside it "
    "blocks that loop: while it computes, no other request (a health check included) is answered. Make it a "
    "plain `def`, which FastAPI runs in its thread pool (read the upload with file.file.read()), or await "
    "the model call through starlette.concurrency.run_in_threadpool."
)


def _blocking_async_endpoint(got, want, ctx):
    """A coroutine endpoint that calls the model directly, without handing the call to a thread."""
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.AsyncFunctionDef):
            calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            offloads = any(
                isinstance(n, ast.Call)
                and getattr(n.func, "attr", getattr(n.func, "id", ""))
                in ("run_in_threadpool", "to_thread", "run_in_executor")
                for n in ast.walk(node)
            )
            if "classifier" in calls and not offloads:
                return BLOCKING.format(name=node.name)
    return None


def _uploads(fn) -> set[str]:
    """The arguments of ``fn`` annotated as an UploadFile (plain or inside Annotated[...])."""
    return {
        a.arg
        for a in fn.args.args + fn.args.kwonlyargs
        if a.annotation is not None
        and "UploadFile" in {getattr(n, "id", getattr(n, "attr", None)) for n in ast.walk(a.annotation)}
    }


def _awaitable_read_in_plain_def(got, want, ctx):
    """UploadFile.read() called in a plain def: it returns a coroutine there, not the bytes."""
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.FunctionDef):
            uploads = _uploads(node)
            for call in ast.walk(node):
                f = getattr(call, "func", None)
                if isinstance(call, ast.Call) and isinstance(f, ast.Attribute) and f.attr == "read":
                    if isinstance(f.value, ast.Name) and f.value.id in uploads:
                        return Fail(
                            f"`{f.value.id}.read()` is a coroutine function, made for an `async def`: in a plain "
                            "def it returns a coroutine object, not the bytes, and every request fails with a "
                            "server error. Read the bytes from the UploadFile's underlying file object, which "
                            "is an ordinary file.",
                            line=call.lineno,
                        )
    return None


sct = SCT(
    variable("app").instance_of("fastapi.FastAPI"),
    custom(judge=_blocking_async_endpoint),
    custom(judge=_awaitable_read_in_plain_def),
    correct(
        endpoint("app", "/predict", upload="file")
        .predicts(images=4)
        .rejects("text", "empty", "truncated", status=422, carries="course.core.preprocess.decode_image"),
        diagnose=[
            avoids(
                ".softmax",
                "torch.softmax",
                "torch.nn.functional.softmax",
                msg="The exported classifier already ends with softmax: its outputs are probabilities. "
                "A second softmax squashes them towards 1/10 each, so the reported probability is wrong.",
            ),
            uses(
                "course.core.preprocess.to_model_input",
                msg="Prepare the pixels with to_model_input, the preprocessing the model was trained with: "
                "scaled to [0, 1] and normalised per channel. Different numbers give different answers.",
            ),
        ],
    ),
)

cases = [
    wrong(
        "awaits nothing: calls UploadFile.read() in a plain def",
        replace={"decode_image(file.file.read())": "decode_image(file.read())"},
        says="is a coroutine function, made for an `async def`",
    ),
    wrong(
        "routes GET requests",
        replace={'@app.post("/predict")': '@app.get("/predict")'},
        says="but not POST requests",
    ),
    wrong(
        "serves another path",
        replace={
            '@app.post("/predict")': '@app.post("/predictions")',
            'client.post("/predict"': 'client.post("/predictions"',
        },
        says="has no route at /predict",
    ),
    right(
        "takes the upload as bytes and answers bad input with a JSONResponse of its own",
        replace={
            "def predict(file: UploadFile):": "def predict(file: bytes = File(...)):",
            "decode_image(file.file.read())": "decode_image(file)",
            'raise HTTPException(status_code=422, detail=f"not a usable image: {err}")': 'return JSONResponse(status_code=422, content={"detail": str(err)})',
            "app = FastAPI()": "from fastapi import File\nfrom fastapi.responses import JSONResponse\napp = FastAPI()",
        },
    ),
    wrong(
        "lets a bad upload crash the app",
        replace={
            "    try:\n        pixels = decode_image(file.file.read())\n    except ImageError as err:\n"
            '        raise HTTPException(status_code=422, detail=f"not a usable image: {err}")\n': "    pixels = decode_image(file.file.read())\n"
        },
        says="answered 500, a server error",
    ),
    wrong("answers bad input with a 500", replace={"status_code=422": "status_code=500"}, says="a server error"),
    wrong(
        "applies softmax again",
        replace={
            "probs = classifier(torch.from_numpy(to_model_input(pixels)))[0]": "probs = classifier(torch.from_numpy(to_model_input(pixels))).softmax(dim=1)[0]"
        },
        says="already ends with softmax",
    ),
    wrong(
        "scales the pixels without normalising them",
        replace={
            "torch.from_numpy(to_model_input(pixels))": "torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255"
        },
        says="Prepare the pixels with to_model_input",
    ),
    wrong(
        "answers with the class index",
        replace={'"label": CLASSES[int(probs.argmax())]': '"label": int(probs.argmax())'},
        says="should be a str",
    ),
    wrong(
        "calls the model inside an async def",
        replace={
            "def predict(file: UploadFile):": "async def predict(file: UploadFile):",
            "file.file.read()": "await file.read()",
        },
        says="blocks that loop",
    ),
    right(
        "answers from a coroutine that hands the model call to a thread",
        replace={
            "def predict(file: UploadFile):": "async def predict(file: UploadFile):",
            "file.file.read()": "await file.read()",
            "torch.inference_mode()": "torch.no_grad()",
            "probs = classifier(torch.from_numpy(to_model_input(pixels)))[0]": "probs = (await run_in_threadpool(classifier, torch.from_numpy(to_model_input(pixels))))[0]",
            "app = FastAPI()": "from starlette.concurrency import run_in_threadpool\napp = FastAPI()",
        },
    ),
    wrong(
        "answers 400 where the text asks for 422",
        replace={"status_code=422": "status_code=400"},
        says="the exercise asks for 422",
    ),
    wrong(
        "answers with a detail that drops the error's message",
        replace={'detail=f"not a usable image: {err}"': 'detail="not a usable image"'},
        says="leaves out the error's own message",
    ),
    right(
        "answers with the error's own message as the detail",
        replace={'detail=f"not a usable image: {err}"': "detail=str(err)"},
    ),
]
